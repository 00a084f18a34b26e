"""A dataset's `freshness` as the Dagster freshness policy of its Snowflake table, and with a `deadline` a check that
each window is loaded by then, with the sensor that evaluates it."""

import datetime as dt
import warnings
from collections.abc import Sequence

import dagster as dg

from etl_assets.config.models import DatasetConfig
from etl_assets.ingest.windows import TimeWindow, last_closed_window, window_for

WINDOW_DEADLINE_CHECK = "window_deadline"
FRESHNESS_SENSOR = "freshness_checks_sensor"
# read by Dagster's freshness sensor: until then a passed check cannot turn overdue, so it is not evaluated again
FRESH_UNTIL = "dagster/fresh_until_timestamp"


def freshness_policy_for(dataset: DatasetConfig) -> dg.FreshnessPolicy | None:
    """The table is late (warn) or overdue (fail) once its last load is older than the configured windows."""
    freshness = dataset.freshness
    if freshness is None:
        return None
    return dg.FreshnessPolicy.time_window(fail_window=freshness.fail_after, warn_window=freshness.warn_after)


def window_due(dataset: DatasetConfig, now: dt.datetime) -> TimeWindow | None:
    """The newest window whose close plus the deadline has passed; None while even the first is not due."""
    due = last_closed_window(now - dataset.freshness.deadline, dataset.partitions)
    return due if due.start >= window_for(dataset.partitions.start_datetime, dataset.partitions).start else None


def build_window_deadline_check(dataset: DatasetConfig) -> dg.AssetChecksDefinition | None:
    """`window_deadline` on the table: fails once a window is past its deadline without a load, naming it.

    The freshness policy only sees when the table last loaded, so a load of another window hides a missing one; this
    asks for the very window. Not blocking: the late window still loads, and the run that loads it runs this check too
    (it is in the dataset's group), turning it green."""
    freshness = dataset.freshness
    if freshness is None or freshness.deadline is None:
        return None
    table = dg.AssetKey(dataset.asset_table_path)

    @dg.asset_check(
        asset=table,
        name=WINDOW_DEADLINE_CHECK,
        blocking=False,
        description=f"Each {dataset.partitions.cadence} window is loaded within {freshness.deadline} of its close.",
    )
    def window_deadline(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        now = dt.datetime.now(dt.UTC)
        due, next_deadline = window_due(dataset, now), _next_deadline(dataset, now)
        if due is None:
            return dg.AssetCheckResult(passed=True, description="No window is due yet.", metadata={FRESH_UNTIL: next_deadline.timestamp()})
        deadline = due.end + freshness.deadline
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=table, asset_partitions=[due.key]), limit=1
        ).records
        metadata = {"window": due.key, "deadline": dg.MetadataValue.timestamp(deadline)}
        if not records:
            overdue = now - deadline
            return dg.AssetCheckResult(
                passed=False,
                description=f"Window {due.key} of {dataset.name} is not loaded, {_hours(overdue)} after its deadline; "
                "check the landing folder and the upload sensor's runs.",
                metadata={**metadata, "dagster/overdue_seconds": overdue.total_seconds()},
            )
        loaded_at = dt.datetime.fromtimestamp(records[0].timestamp, dt.UTC)
        return dg.AssetCheckResult(
            passed=True,
            description=f"Window {due.key} is loaded; the next window is due {next_deadline.isoformat(timespec='minutes')}.",
            metadata={**metadata, "loaded_at": dg.MetadataValue.timestamp(loaded_at), FRESH_UNTIL: next_deadline.timestamp()},
        )

    return window_deadline


def _next_deadline(dataset: DatasetConfig, now: dt.datetime) -> dt.datetime:
    """When the window after the one due now turns due."""
    following = window_for(now - dataset.freshness.deadline, dataset.partitions)
    return following.end + dataset.freshness.deadline


def _hours(span: dt.timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f} h"


def build_freshness_sensor(checks: Sequence[dg.AssetChecksDefinition]) -> dg.SensorDefinition | None:
    """Dagster's freshness sensor runs each check once it can have turned overdue (`dagster/fresh_until_timestamp`).
    Running by default: a late feed nobody is told about is the failure this guards against."""
    if not checks:
        return None
    with warnings.catch_warnings():
        # superseded by FreshnessPolicy, which the table has too; but the policy cannot name a missing window
        warnings.filterwarnings("ignore", category=dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, name=FRESHNESS_SENSOR, default_status=dg.DefaultSensorStatus.RUNNING
        )
