"""The load step: each window of a run goes to Snowflake with its own keys, ledger row and reconciliation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import dagster as dg

from etl_assets.config.models import DatasetConfig
from etl_assets.defs.metadata import markdown_table, window_load_metadata, windows_load_metadata
from etl_assets.defs.partitions import windows_in_run
from etl_assets.defs.resources import SnowflakeWarehouse
from etl_assets.ingest.windows import TimeWindow
from etl_assets.lake import QualityVerdict, stage_paths
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
QUALITY_GATE_CHECK = "quality_gate"


def load_check_specs(table_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            RECONCILIATION_CHECK, asset=table_key, description="Each window holds exactly the rows its load was handed."
        ),
        dg.AssetCheckSpec(SCHEMA_CHANGE_CHECK, asset=table_key, description="Warns when a load added or widened columns."),
        dg.AssetCheckSpec(
            QUALITY_GATE_CHECK, asset=table_key, description="Fails when a window was held back by an error rule on its transformed rows."
        ),
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
) -> Iterator[dg.AssetCheckResult]:
    """Load every window the quality rules let through; each loaded window is logged as its own materialization.

    A window held back by an error rule is not loaded (ledger status `blocked`) while the others load, so a
    backfill gives each window its own outcome. A permanent error stops the run without retries.
    """
    windows = windows_in_run(context)
    connection_name = dataset.warehouse.connection
    if not warehouse.has_connection(connection_name):
        yield from skipped(context, dataset, paths, windows, f"no credentials for warehouse connection '{connection_name}'")
        return
    results: dict[str, LoadResult] = {}
    choices: dict[str, KeyChoice] = {}
    reconciliations: list[Reconciliation] = []
    held_back: dict[str, tuple[str, ...]] = {}
    verdicts: dict[str, QualityVerdict] = {}
    try:
        with warehouse.get_connection(connection_name) as connection:
            ledger = LoadLedger(connection, dataset.warehouse.database, dataset.warehouse.schema_)
            for window in windows:
                stage = stage_paths(paths, dataset.name, window.key)
                verdict = stage.read_verdict()
                if verdict.blocked:
                    held_back[window.key] = verdict.blocked_by
                    record_blocked(ledger, dataset, context.run_id, window, verdict.blocked_by)
                    context.log.warning(f"{dataset.name} {window.key} is held back: it failed {', '.join(verdict.blocked_by)}.")
                    continue
                request, choices[window.key] = load_request(context, dataset, paths, window, verdict.load_path)
                context.log.info(f"Loading {dataset.name} {window.key} with {request.strategy}: {choices[window.key].reason}")
                results[window.key] = load_window(
                    connection, request, ledger=ledger, progress=lambda step, key=window.key: context.log.debug(f"{key}: {step}")
                )
                if results[window.key].ledger_error:
                    context.log.warning(results[window.key].ledger_error)
                if verdict.quarantine_path:
                    load_window(connection, quarantine_request(request, verdict.quarantine_path))
                reconciliations.append(reconcile_window(connection, request, choices[window.key].keys))
                verdicts[window.key] = verdict
            columns = column_types(connection, dataset.warehouse.database, dataset.warehouse.schema_, dataset.load.table)
    except PermanentWarehouseError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    schema = dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in columns.items()])
    checks = [reconciliation_result(reconciliations), schema_change_result(results), quality_gate_result(held_back)]
    if not held_back:
        # Every window loaded: one result for the run, so downstream assets (the marts) run on it.
        summary = windows_load_metadata(results, choices, verdicts, target_name(dataset))
        yield dg.MaterializeResult(metadata={**summary, "dagster/column_schema": schema}, check_results=checks)
        return
    for key, result in results.items():
        metadata = window_load_metadata(result, choices[key], verdicts[key], target_name(dataset))
        context.log_event(dg.AssetMaterialization(asset_key=context.asset_key, partition=key, metadata={**metadata, "dagster/column_schema": schema}))
    yield from checks


def record_blocked(ledger: LoadLedger, dataset: DatasetConfig, run_id: str, window: TimeWindow, rules: Sequence[str]) -> None:
    load_id = ledger.start(
        dataset=dataset.name,
        table_name=dataset.load.table,
        window_key=window.key,
        window_start=window.start,
        window_end=window.end,
        run_id=run_id,
        strategy=dataset.load.strategy,
    )
    ledger.finish(load_id, "blocked", error=f"Held back: the window failed the error rules {', '.join(rules)}; fix the data and rerun the window.")


def quarantine_request(request: LoadRequest, quarantine_path: Path) -> LoadRequest:
    """The window's quarantined rows go to <TABLE>_QUARANTINE, replacing that window's earlier ones."""
    return replace(request, table=f"{request.table}_QUARANTINE", strategy="replace_window", keys=[], parquet_path=quarantine_path)


def load_request(
    context: dg.AssetExecutionContext, dataset: DatasetConfig, paths: ProjectPaths, window: TimeWindow, load_path: Path
) -> tuple[LoadRequest, KeyChoice]:
    """The window's load, keyed by configured keys or, failing those, keys detected in the rows to load."""
    configured, strategy = dataset.load.keys or [], dataset.load.strategy
    if configured or strategy != "merge":
        # choose_keys looks at no column then; profiling a big window only to ignore it would cost seconds
        choice = choose_keys(configured, strategy, [])
    else:
        profile = profile_parquet(load_path)
        choice = choose_keys(configured, strategy, facts_from_profile(profile), profile.key_candidates)
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
        parquet_path=load_path,
        dataset=dataset.name,
    )
    return request, choice


def skipped(
    context: dg.AssetExecutionContext, dataset: DatasetConfig, paths: ProjectPaths, windows: list[TimeWindow], reason: str
) -> Iterator[dg.AssetCheckResult]:
    """Without credentials nothing is loaded: the skip is recorded locally, no window is materialized, upstream stands."""
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
    yield dg.AssetCheckResult(check_name=RECONCILIATION_CHECK, passed=False, severity=not_loaded, description=f"Not loaded: {reason}.")
    yield dg.AssetCheckResult(check_name=SCHEMA_CHANGE_CHECK, passed=True, description="Not loaded, so no column changed.")
    yield dg.AssetCheckResult(check_name=QUALITY_GATE_CHECK, passed=True, description="Not loaded, so nothing was held back.")


def quality_gate_result(held_back: dict[str, tuple[str, ...]]) -> dg.AssetCheckResult:
    rows = [(key, ", ".join(rules)) for key, rules in held_back.items()]
    return dg.AssetCheckResult(
        check_name=QUALITY_GATE_CHECK,
        passed=not held_back,
        metadata={
            "blocked_windows": ", ".join(held_back) or "(none)",
            "windows": dg.MetadataValue.md(markdown_table(["window held back", "failed error rules"], rows)),
        },
        description="Windows that failed an error rule were not loaded." if held_back else "Every window passed its error rules.",
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
