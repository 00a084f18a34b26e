"""The load step: each window of a run goes to Snowflake with its own keys, ledger row and reconciliation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import dagster as dg

from etl_assets.config.columns import QUARANTINE_SUFFIX
from etl_assets.config.models import DatasetConfig
from etl_assets.defs.metadata import markdown_table, window_load_metadata, windows_load_metadata
from etl_assets.defs.partitions import windows_in_run
from etl_assets.defs.resources import SnowflakeWarehouse
from etl_assets.errors import CredentialsError
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


@dataclass
class RunLoads:
    """What one run of the load step did, window by window, for its checks."""

    results: dict[str, LoadResult] = field(default_factory=dict)
    reconciliations: list[Reconciliation] = field(default_factory=list)
    held_back: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the materialization metadata of each window loaded by this attempt
    metadata: dict[str, dict] = field(default_factory=dict)
    # the table's columns, read again only after a load changed them
    schema: dg.TableSchema | None = None


def load_run(
    context: dg.AssetExecutionContext, dataset: DatasetConfig, paths: ProjectPaths, warehouse: SnowflakeWarehouse
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckResult | dg.MaterializeResult]:
    """Load every window the quality rules let through, recording each window as materialized once it commits.

    A window held back by an error rule is not loaded (ledger status `blocked`) while the others load, so a
    backfill gives each window its own outcome. Every window but the run's last is materialized as soon as its
    transaction commits, so when a later window fails, the windows before it stay recorded; a retry of the same run
    does not load them again. A run whose every window loaded ends with one result for its whole range, which lets
    downstream assets of the same run go on (Dagster cannot yet take one output per partition of a ranged run).
    A permanent error (credentials included) stops the run without retries.
    """
    windows = windows_in_run(context)
    connection_name = dataset.warehouse.connection
    if not warehouse.has_connection(connection_name):
        yield from skipped(context, dataset, paths, windows, f"no credentials for warehouse connection '{connection_name}'")
        return
    run = RunLoads()
    window = None
    try:
        with warehouse.get_connection(connection_name) as connection:
            ledger = LoadLedger(connection, dataset.warehouse.database, dataset.warehouse.schema_)
            for window in windows:
                load_one_window(context, dataset, paths, (connection, ledger), window, run)
                if window is not windows[-1] and window.key in run.metadata:
                    # yielded, not logged: a logged event waits for the step's next yield, which a failure never makes
                    yield window_materialization(context, window.key, run.metadata[window.key])
    except (PermanentWarehouseError, CredentialsError) as exc:
        where = f"window {window.key} of {dataset.name}" if window else dataset.name
        loaded = "; the windows before it are loaded and recorded" if run.results else ""
        raise dg.Failure(description=f"Loading {where} failed{loaded}: {exc}", allow_retries=False) from None
    checks = [reconciliation_result(run), schema_change_result(run.results), quality_gate_result(run.held_back)]
    if not run.held_back:
        yield dg.MaterializeResult(metadata=windows_load_metadata(run.results, run.metadata), check_results=checks)
        return
    if windows[-1].key in run.metadata:
        yield window_materialization(context, windows[-1].key, run.metadata[windows[-1].key])
    yield from checks


def window_materialization(context: dg.AssetExecutionContext, window_key: str, metadata: dict) -> dg.AssetMaterialization:
    return dg.AssetMaterialization(asset_key=context.asset_key, partition=window_key, metadata=metadata)


def load_one_window(
    context: dg.AssetExecutionContext,
    dataset: DatasetConfig,
    paths: ProjectPaths,
    warehouse: tuple[object, LoadLedger],
    window: TimeWindow,
    run: RunLoads,
) -> None:
    """Load one window (and its quarantined rows), keeping in `run` what its checks and materialization need."""
    connection, ledger = warehouse
    verdict = stage_paths(paths, dataset.name, window.key).read_verdict()
    if verdict.blocked:
        run.held_back[window.key] = verdict.blocked_by
        record_blocked(ledger, dataset, context.run_id, window, verdict.blocked_by)
        context.log.warning(f"{dataset.name} {window.key} is held back: it failed {', '.join(verdict.blocked_by)}.")
        return
    request, choice = load_request(context, dataset, paths, window, verdict.load_path)
    context.log.info(f"Loading {dataset.name} {window.key} with {request.strategy}: {choice.reason}")
    progress = lambda step: context.log.debug(f"{window.key}: {step}")  # noqa: E731 - one line, one use
    result = run.results[window.key] = load_window(connection, request, ledger, progress)
    if verdict.quarantine_path:
        load_window(connection, quarantine_request(request, verdict.quarantine_path), ledger, progress)
    if result.skipped:
        context.log.warning(f"{dataset.name} {window.key}: {result.skipped}.")
    else:
        run.reconciliations.append(reconcile_window(connection, request, choice.keys, result))
    if result.already_loaded:
        context.log.info(f"{dataset.name} {window.key} was loaded by an earlier attempt of this run; it is not loaded again.")
        return
    changes = result.schema_changes
    if run.schema is None or changes.created or changes.added or changes.widened:
        columns = column_types(connection, dataset.warehouse.database, dataset.warehouse.schema_, dataset.load.table)
        run.schema = dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in columns.items()])
    run.metadata[window.key] = {**window_load_metadata(result, choice, verdict, target_name(dataset)), "dagster/column_schema": run.schema}


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
    """The window's quarantined rows go to <TABLE>_QUARANTINE, replacing that window's earlier ones (even with none)."""
    return replace(
        request, table=request.table + QUARANTINE_SUFFIX, strategy="replace_window", keys=[], parquet_path=quarantine_path,
        sequence_by=None, load_empty=True,
    )  # fmt: skip


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
        sequence_by=dataset.load.sequence_by,
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


def reconciliation_result(run: RunLoads) -> dg.AssetCheckResult:
    reconciliations = run.reconciliations
    failing = [r.window_key for r in reconciliations if not r.matches]
    rows = [
        (
            r.window_key, r.expected, r.found, r.superseded,
            ", ".join(f"{start} ({rows})" for start, rows in r.taken_from_newer.items()) or "",
            "ok" if r.matches else "MISMATCH",
        )
        for r in reconciliations
    ]  # fmt: skip
    skipped_windows = [(key, result.skipped) for key, result in run.results.items() if result.skipped]
    header = ["window", "rows handed to the load", "rows it holds", "kept newer elsewhere", "rows taken from newer windows", "result"]
    return dg.AssetCheckResult(
        check_name=RECONCILIATION_CHECK,
        passed=not failing,
        metadata={
            "failing_windows": ", ".join(failing) or "(none)",
            "windows": dg.MetadataValue.md(markdown_table(header, rows)),
            "skipped_windows": dg.MetadataValue.md(markdown_table(["window", "why nothing was loaded"], skipped_windows)),
        },
        description=(
            "Each window holds the rows its load was handed, less the rows a newer version holds elsewhere."
            if not failing
            else f"Windows {', '.join(failing)} do not hold the rows their load was handed, or lost rows to an older window."
        ),
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
