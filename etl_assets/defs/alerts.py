"""The failed-window alert sensor: for a failed run of a dataset's chain, a ledger entry, a log line and the hooks per
window (`etl_assets.alerts` does the work; this finds the run's dataset, windows and error)."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
from dagster._core.errors import DagsterExecutionStepExecutionError
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG, PARTITION_NAME_TAG
from dagster._utils.error import SerializableErrorInfo

from etl_assets.alerts import LOGGER, FailedWindow, alert_log_line, alert_payload, deliver, error_sentence, hooks_for, record_failed_windows
from etl_assets.alerts import run_alert_payload, unrecorded_windows
from etl_assets.config.models import DatasetConfig, ProjectConfig
from etl_assets.credentials import Vault, resolve_secrets
from etl_assets.defs.assets import asset_keys_for
from etl_assets.defs.jobs import DATASET_TAG
from etl_assets.defs.partitions import partitions_def_for, windows_of_keys
from etl_assets.defs.resources import ProjectHome, SnowflakeWarehouse
from etl_assets.ingest.windows import TimeWindow
from etl_assets.warehouse.ledger import LoadLedger

ALERT_SENSOR_NAME = "failed_window_alerts"
ALERT_INTERVAL_SECONDS = 30


def build_alert_sensor(config: ProjectConfig) -> dg.SensorDefinition:
    """One sensor for every dataset's runs, RUNNING by default: an alert that must be switched on is no alert."""
    datasets_by_asset = {key: dataset for dataset in config.datasets.values() for key in asset_keys_for(dataset).values()}

    @dg.run_failure_sensor(
        name=ALERT_SENSOR_NAME,
        minimum_interval_seconds=ALERT_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records each window of a failed run in the load ledger and the log, and sends it to the configured alert hooks.",
    )
    def failed_window_alerts(context: dg.RunFailureSensorContext, warehouse: SnowflakeWarehouse, project: ProjectHome) -> None:
        """A ledger row and a log line per window, one payload per run to the hooks. Never raises for a ledger or hook
        problem: the alert still goes to the log and the other hooks."""
        run = context.dagster_run
        dataset = dataset_of_run(run, _assets_of_run(context), config.datasets, datasets_by_asset)
        if dataset is None:
            context.log.info(f"Run {run.run_id} ran no dataset's chain, so no window alert is sent.")
            return
        failures = _failed_windows(dataset, windows_of_run(run.tags, dataset), run, run_error(context), warehouse)
        home = project.paths.home
        hooks = hooks_for(config.alerts, lambda text: resolve_secrets(Vault.for_home(home), text))
        for failure in failures:
            line = alert_log_line(alert_payload(failure))
            LOGGER.error(line)
            context.log.error(line)
        if failures:
            for sentence in deliver(run_alert_payload(failures), hooks).values():
                context.log.warning(sentence)

    return failed_window_alerts


def dataset_of_run(
    run: dg.DagsterRun, assets: set[dg.AssetKey], datasets: Mapping[str, DatasetConfig], datasets_by_asset: Mapping[dg.AssetKey, DatasetConfig]
) -> DatasetConfig | None:
    """The dataset whose chain the run ran: its job's tag, else the dataset of the first of its assets that has one."""
    if (name := run.tags.get(DATASET_TAG)) in datasets:
        return datasets[name]
    found = [datasets_by_asset[key] for key in sorted(assets, key=str) if key in datasets_by_asset]
    return found[0] if found else None


def _assets_of_run(context: dg.RunFailureSensorContext) -> set[dg.AssetKey]:
    """The run's asset selection, or, for a run of a job made of exactly its assets, the assets it planned."""
    if context.dagster_run.asset_selection:
        return set(context.dagster_run.asset_selection)
    planned = context.instance.get_records_for_run(run_id=context.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    return {record.event_log_entry.dagster_event.asset_key for record in planned.records if record.event_log_entry.dagster_event}


def windows_of_run(tags: Mapping[str, str], dataset: DatasetConfig) -> list[TimeWindow | None]:
    """The windows the run's partition tags name: one, a range's every window, or [None] for a run without them."""
    partitions_def = partitions_def_for(dataset.partitions)
    try:
        if PARTITION_NAME_TAG in tags:
            keys = [tags[PARTITION_NAME_TAG]]
        elif ASSET_PARTITION_RANGE_START_TAG in tags and ASSET_PARTITION_RANGE_END_TAG in tags:
            keys = partitions_def.get_partition_keys_in_range(
                dg.PartitionKeyRange(tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG])
            )
        else:
            return [None]
        windows = windows_of_keys(partitions_def, keys)
    except (ValueError, dg.DagsterError):  # keys of partitions the config has since changed: still alert, windowless
        return [None]
    return windows or [None]


def run_error(context: dg.RunFailureSensorContext) -> str:
    """The first failed step's error, as one sentence; the run's own failure message when no step failed."""
    for event in context.get_step_failure_events():
        if event.step_failure_data is not None:
            return error_sentence(_user_error(event.step_failure_data.error).message)
    return error_sentence(context.failure_event.message or "")


def _user_error(error: SerializableErrorInfo) -> SerializableErrorInfo:
    """The error the step's code raised, not Dagster's wrapper around it."""
    while error.cls_name == DagsterExecutionStepExecutionError.__name__ and error.cause is not None:
        error = error.cause
    return error


def _failed_windows(dataset: DatasetConfig, windows: list[TimeWindow | None], run: dg.DagsterRun, error: str, warehouse: SnowflakeWarehouse) -> list[FailedWindow]:
    if windows == [None]:
        return unrecorded_windows(dataset, windows, run.run_id, run.job_name, error, "the run names no window")
    try:
        with warehouse.get_connection(dataset.warehouse.connection) as connection:
            ledger = LoadLedger(connection, dataset.warehouse.database, dataset.warehouse.schema_)
            return record_failed_windows(ledger, dataset, windows, run.run_id, run.job_name, error)  # type: ignore[arg-type]
    except Exception as exc:  # the warehouse may be what failed the run: the alert must still go out
        return unrecorded_windows(dataset, windows, run.run_id, run.job_name, error, error_sentence(f"{type(exc).__name__}: {exc}"))
