"""The load step: each window of a run goes to Snowflake with its own keys, ledger row and reconciliation."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from etl_assets.config.models import DatasetConfig
from etl_assets.defs.metadata import load_metadata, markdown_table
from etl_assets.defs.partitions import windows_in_run
from etl_assets.defs.resources import SnowflakeWarehouse
from etl_assets.ingest.windows import TimeWindow
from etl_assets.lake import stage_paths
from etl_assets.paths import ProjectPaths
from etl_assets.profiling.profiler import profile_parquet
from etl_assets.warehouse.errors import PermanentWarehouseError
from etl_assets.warehouse.keys import KeyChoice, choose_keys, facts_from_profile
from etl_assets.warehouse.ledger import LoadLedger
from etl_assets.warehouse.loader import LoadRequest, LoadResult, load_window
from etl_assets.warehouse.reconcile import Reconciliation, column_types, reconcile_window
from etl_assets.warehouse.skipped_loads import record_skipped

RECONCILIATION_CHECK = "reconciliation"
SCHEMA_CHANGE_CHECK = "column_schema_changes"


def load_check_specs(table_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            RECONCILIATION_CHECK, asset=table_key, description="Each window holds exactly the rows its load was handed."
        ),
        dg.AssetCheckSpec(SCHEMA_CHANGE_CHECK, asset=table_key, description="Warns when a load added or widened columns."),
    ]


def retry_policy_for(dataset: DatasetConfig) -> dg.RetryPolicy:
    """Transient warehouse errors are retried with exponential backoff; permanent ones fail at once."""
    return dg.RetryPolicy(
        max_retries=dataset.load.retry.attempts - 1,
        delay=dataset.load.retry.delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
    )


def load_run(
    context: dg.AssetExecutionContext, dataset: DatasetConfig, paths: ProjectPaths, warehouse: SnowflakeWarehouse
) -> dg.MaterializeResult:
    """Load every window of the run; a permanent error stops the run without retries."""
    windows = windows_in_run(context)
    connection_name = dataset.warehouse.connection
    if not warehouse.has_connection(connection_name):
        return skipped(context, dataset, paths, windows, f"no credentials for warehouse connection '{connection_name}'")
    try:
        with warehouse.get_connection(connection_name) as connection:
            ledger = LoadLedger(connection, dataset.warehouse.database, dataset.warehouse.schema_)
            results: dict[str, LoadResult] = {}
            choices: dict[str, KeyChoice] = {}
            reconciliations: list[Reconciliation] = []
            for window in windows:
                request, choices[window.key] = load_request(context, dataset, paths, window)
                context.log.info(f"Loading {dataset.name} {window.key} with {request.strategy}: {choices[window.key].reason}")
                results[window.key] = load_window(
                    connection, request, ledger=ledger, progress=lambda step, key=window.key: context.log.debug(f"{key}: {step}")
                )
                if results[window.key].ledger_error:
                    context.log.warning(results[window.key].ledger_error)
                reconciliations.append(reconcile_window(connection, request, choices[window.key].keys))
            columns = column_types(connection, dataset.warehouse.database, dataset.warehouse.schema_, dataset.load.table)
    except PermanentWarehouseError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return dg.MaterializeResult(
        metadata=load_metadata(results, target_name(dataset), choices, columns),
        check_results=[reconciliation_result(reconciliations), schema_change_result(results)],
    )


def load_request(
    context: dg.AssetExecutionContext, dataset: DatasetConfig, paths: ProjectPaths, window: TimeWindow
) -> tuple[LoadRequest, KeyChoice]:
    """The window's load, keyed by configured keys or, failing those, keys detected in the transformed rows."""
    transformed = stage_paths(paths, dataset.name, window.key).transformed
    choice = choose_keys(dataset.load.keys or [], dataset.load.strategy, facts_from_profile(profile_parquet(transformed)))
    request = LoadRequest(
        database=dataset.warehouse.database,
        schema=dataset.warehouse.schema_,
        table=dataset.load.table,
        strategy=choice.strategy,
        keys=choice.keys,
        window_key=window.key,
        window_start=window.start,
        window_end=window.end,
        run_id=context.run_id,
        parquet_path=transformed,
        dataset=dataset.name,
    )
    return request, choice


def skipped(
    context: dg.AssetExecutionContext, dataset: DatasetConfig, paths: ProjectPaths, windows: list[TimeWindow], reason: str
) -> dg.MaterializeResult:
    """Without credentials nothing is loaded; the skip is recorded locally and the upstream assets stand."""
    for window in windows:
        record_skipped(
            paths.warehouse,
            dataset=dataset.name,
            table_name=target_name(dataset),
            window_key=window.key,
            run_id=context.run_id,
            reason=reason,
            at=dt.datetime.now(dt.UTC),
        )
    context.log.warning(f"The load of {dataset.name} was skipped: {reason}; add it with `etl-assets credentials set`.")
    not_loaded = dg.AssetCheckSeverity.WARN
    return dg.MaterializeResult(
        metadata={"status": "skipped", "reason": reason, "windows": ", ".join(w.key for w in windows)},
        check_results=[
            dg.AssetCheckResult(check_name=RECONCILIATION_CHECK, passed=False, severity=not_loaded, description=f"Not loaded: {reason}."),
            dg.AssetCheckResult(check_name=SCHEMA_CHANGE_CHECK, passed=True, description="Not loaded, so no column changed."),
        ],
    )


def reconciliation_result(reconciliations: list[Reconciliation]) -> dg.AssetCheckResult:
    failing = [r.window_key for r in reconciliations if not r.matches]
    rows = [(r.window_key, r.expected, r.found, "ok" if r.matches else "MISMATCH") for r in reconciliations]
    return dg.AssetCheckResult(
        check_name=RECONCILIATION_CHECK,
        passed=not failing,
        metadata={
            "failing_windows": ", ".join(failing) or "(none)",
            "windows": dg.MetadataValue.md(markdown_table(["window", "rows handed to the load", "rows in the table", "result"], rows)),
        },
    )


def schema_change_result(results: dict[str, LoadResult]) -> dg.AssetCheckResult:
    created = any(r.schema_changes.created for r in results.values())
    added = sorted({name for r in results.values() for name in r.schema_changes.added})
    widened = {name: f"{old} -> {new}" for r in results.values() for name, (old, new) in r.schema_changes.widened.items()}
    return dg.AssetCheckResult(
        check_name=SCHEMA_CHANGE_CHECK,
        passed=created or not (added or widened),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"table_created": created, "added_columns": ", ".join(added) or "(none)", "widened_columns": str(widened or "(none)")},
    )


def target_name(dataset: DatasetConfig) -> str:
    return f"{dataset.warehouse.database}.{dataset.warehouse.schema_}.{dataset.load.table}"
