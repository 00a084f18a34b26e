"""The load step's Dagster face: each window's outcome (warehouse.window_loads) becomes a materialization and checks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import dagster as dg

from etl_assets.compliance.pii import PiiColumn, window_pii
from etl_assets.config.models import DatasetConfig
from etl_assets.defs.metadata import NO_PII, column_schema, record_per_window, window_load_metadata
from etl_assets.defs.partitions import windows_in_run
from etl_assets.defs.resources import SnowflakeWarehouse
from etl_assets.errors import CredentialsError
from etl_assets.lake import stage_paths
from etl_assets.markdown import markdown_table
from etl_assets.paths import ProjectPaths
from etl_assets.warehouse.errors import PermanentWarehouseError
from etl_assets.warehouse.model import LoadResult, Reconciliation
from etl_assets.warehouse.window_loads import WindowOutcome, load_windows, record_skipped_windows

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
    # the materialization metadata of each window loaded, by this attempt or an earlier attempt of the run
    metadata: dict[str, dict] = field(default_factory=dict)
    # the windows this attempt loaded, in order
    newly_loaded: list[str] = field(default_factory=list)

    @property
    def windows_done(self) -> int:
        """Windows with an outcome: every one held back or loaded (an empty window's load included)."""
        return len(self.held_back) + len(self.results)

    def add(self, outcome: WindowOutcome, target: str, pii: Mapping[str, PiiColumn] = NO_PII) -> None:
        """Record a window's outcome; `pii`, by table column, tags its column schema."""
        key = outcome.window.key
        if outcome.held_back_by:
            self.held_back[key] = outcome.held_back_by
            return
        self.results[key] = outcome.result
        if outcome.reconciliation is not None:
            self.reconciliations.append(outcome.reconciliation)
        self.metadata[key] = window_load_metadata(outcome.result, outcome.choice, outcome.verdict, target)
        if outcome.columns:
            self.metadata[key]["dagster/column_schema"] = column_schema(list(outcome.columns.items()), pii)
        if outcome.newly_loaded:
            self.newly_loaded.append(key)
        else:
            self.metadata[key]["loaded_by"] = "an earlier attempt of this run"


def load_run(
    context: dg.AssetExecutionContext, dataset: DatasetConfig, paths: ProjectPaths, warehouse: SnowflakeWarehouse
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckResult | dg.MaterializeResult]:
    """Load every window the quality rules let through, each recorded as materialized with its own metadata.

    A window held back by an error rule is not loaded (ledger status `blocked`) while the others load, so a
    backfill gives each window its own outcome. A run whose every window loaded ends with one result for its whole
    range, which lets downstream assets of the same run go on (Dagster cannot yet take one output per partition of a
    ranged run); otherwise each loaded window is materialized on its own. When a window fails, the windows loaded
    before it are materialized before the failure is raised, so they stay recorded and a retry of the same run does
    not load them again. A permanent error (credentials included) stops the run without retries.
    """
    windows = windows_in_run(context)
    connection_name = dataset.warehouse.connection
    if not warehouse.has_connection(connection_name):
        reason = f"no credentials for warehouse connection '{connection_name}'"
        record_skipped_windows(paths, dataset, windows, context.run_id, reason)
        yield from skipped(context, dataset, reason)
        return
    run, connected = RunLoads(), False
    try:
        with warehouse.get_connection(connection_name) as connection:
            connected = True
            for outcome in load_windows(connection, dataset, paths, windows, context.run_id, context.log):
                run.add(outcome, dataset.target_name, window_pii(dataset, stage_paths(paths, dataset.name, outcome.window.key).profile).by_target)
    except Exception as exc:
        # yielded, not logged: a logged event waits for the step's next yield, which a failure never makes
        yield from (window_materialization(context, key, run.metadata[key]) for key in run.newly_loaded)
        if not isinstance(exc, (PermanentWarehouseError, CredentialsError)):
            raise
        where = f"window {windows[min(run.windows_done, len(windows) - 1)].key} of {dataset.name}" if connected else dataset.name
        loaded = "; the windows before it are loaded and recorded" if run.results else ""
        raise dg.Failure(description=f"Loading {where} failed{loaded}: {exc}", allow_retries=False) from None
    checks = [reconciliation_result(run), schema_change_result(run.results), quality_gate_result(run.held_back)]
    if not run.held_back:
        record_per_window(context, run.metadata)
        yield dg.MaterializeResult(check_results=checks)
        return
    yield from (window_materialization(context, key, run.metadata[key]) for key in run.newly_loaded)
    yield from checks


def window_materialization(context: dg.AssetExecutionContext, window_key: str, metadata: dict) -> dg.AssetMaterialization:
    return dg.AssetMaterialization(asset_key=context.asset_key, partition=window_key, metadata=metadata)


def skipped(context: dg.AssetExecutionContext, dataset: DatasetConfig, reason: str) -> Iterator[dg.AssetCheckResult]:
    """Without credentials nothing is loaded: no window is materialized, upstream stands, and the checks say why."""
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

