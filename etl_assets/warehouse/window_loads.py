"""A run's load, window by window: quality gate, key choice, the load itself, its quarantine, ledger and reconciliation.

The Dagster step only turns each window's outcome into events (docs/architecture.md §5).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import duckdb

from etl_assets import local_duckdb
from etl_assets.compliance.pii import may_hold_pii, table_pii
from etl_assets.config.columns import QUARANTINE_SUFFIX
from etl_assets.errors import WarehouseError
from etl_assets.config.models import DatasetConfig
from etl_assets.ingest.windows import TimeWindow
from etl_assets.lake import QualityVerdict, stage_paths
from etl_assets.paths import ProjectPaths
from etl_assets.profiling.profiler import profile_parquet
from etl_assets.warehouse.keys import KeyChoice, choose_keys, facts_from_profile
from etl_assets.warehouse.errors import is_unreachable
from etl_assets.warehouse.ledger import LoadLedger
from etl_assets.warehouse.identifiers import object_name
from etl_assets.warehouse.loader import StagedWindow, ledger_attempt, load_window
from etl_assets.warehouse.pii_labels import label_pii_columns
from etl_assets.warehouse.model import LoadRequest, LoadResult, Reconciliation, as_utc
from etl_assets.warehouse.range_staging import range_groups, staged_range
from etl_assets.warehouse.reconcile import column_types, reconcile_window, rows_in_window, window_starts_with_rows
from etl_assets.warehouse.skipped_loads import record_skipped


class Log(Protocol):
    """What the load says as it goes: a `logging.Logger`, or the log of the step that runs it."""

    def debug(self, msg: str) -> object: ...
    def info(self, msg: str) -> object: ...
    def warning(self, msg: str) -> object: ...


@dataclass(frozen=True)
class WindowOutcome:
    """What became of one window: held back by error rules, or loaded (which includes loaded by an earlier attempt)."""

    window: TimeWindow
    held_back_by: tuple[str, ...] = ()
    result: LoadResult | None = None
    choice: KeyChoice | None = None
    verdict: QualityVerdict | None = None
    reconciliation: Reconciliation | None = None
    # the table's columns and types after the load
    columns: dict[str, str] | None = None

    @property
    def newly_loaded(self) -> bool:
        """Loaded by this attempt: a window an earlier attempt of the run loaded is not reported again."""
        return self.result is not None and not self.result.already_loaded


def load_windows(
    connection,
    dataset: DatasetConfig,
    paths: ProjectPaths,
    windows: Sequence[TimeWindow],
    run_id: str,
    log: Log = logging.getLogger(__name__),
) -> Iterator[WindowOutcome]:
    """Load each window the quality rules let through, yielding its outcome once its transaction has committed.

    A window held back by an error rule is recorded in the ledger as `blocked` and not loaded; the others load.
    Consecutive windows with rows share one PUT and COPY INTO (range_staging.py), then load one by one.
    Once they are loaded, the table's PII columns are labelled, in one read when their labels stand (pii_labels.py).
    The table's columns are read once, and again only after a load changed them.
    """
    ledger = LoadLedger(connection, dataset.warehouse.database, dataset.warehouse.schema_)
    verdicts = {window.key: stage_paths(paths, dataset.name, window.key).read_verdict() for window in windows}
    requests = {
        window.key: load_request(dataset, window, verdicts[window.key].load_path, run_id, verdicts[window.key].excluded_rows)
        for window in windows
        if not verdicts[window.key].blocked
    }
    groups = _shared_stagings(ledger, dataset, [request for request, _ in requests.values()], run_id)
    quarantined_before = _quarantined_before(connection, dataset, windows, verdicts)
    columns: dict[str, str] | None = None
    staged: dict[str, StagedWindow] = {}
    # the ledger rows a range started for its windows, until each window's load takes its own
    started: dict[str, str] = {}
    announced: tuple[str, str] | None = None
    # one local DuckDB for every window's reconciliation count
    with local_duckdb.connect() as local, contextlib.ExitStack() as group_stack:
        try:
            for window in windows:
                verdict = verdicts[window.key]
                if verdict.blocked:
                    record_blocked(ledger, dataset, run_id, window, verdict.blocked_by)
                    log.warning(f"{dataset.name} {window.key} is held back: it failed {', '.join(verdict.blocked_by)}.")
                    yield WindowOutcome(window, held_back_by=verdict.blocked_by)
                    continue
                group = groups.get(window.key)
                if group is not None and group[0].window_key == window.key:
                    log.info(f"Staging {len(group)} windows of {dataset.name}, {group[0].window_key} to {group[-1].window_key}, together.")
                    staged = group_stack.enter_context(staged_range(connection, group, lambda step: None))
                    started = dict(zip((r.window_key for r in group), ledger.start_all([ledger_attempt(r) for r in group])))
                request, choice = requests[window.key]
                how = (request.strategy, choice.reason)
                planned = _PlannedLoad(
                    request, choice, verdict, staged.get(window.key), columns, quarantined_before, len(windows) == 1,
                    started.pop(window.key, None), how != announced,
                )  # fmt: skip
                announced = how
                outcome = _load_one(connection, ledger, dataset, window, planned, log, local)
                if group is not None and group[-1].window_key == window.key:
                    group_stack.close()  # the range's staging table is dropped once its last window has loaded
                    staged = {}
                changes = outcome.result.schema_changes
                if outcome.newly_loaded and (columns is None or changes.created or changes.added or changes.widened):
                    columns = column_types(connection, dataset.warehouse.database, dataset.warehouse.schema_, dataset.load.table)
                yield replace(outcome, columns=columns)
            if columns and may_hold_pii(dataset):
                _label_pii(connection, dataset, paths, windows, log)
        except BaseException as exc:
            _abandon(ledger, started, exc)
            raise


def _label_pii(connection, dataset: DatasetConfig, paths: ProjectPaths, windows: Sequence[TimeWindow], log: Log) -> None:
    """Label the PII columns of the table and of its quarantine table (which holds the same columns) once per run,
    after its windows loaded: the columns exist then."""
    labels = table_pii(dataset, [stage_paths(paths, dataset.name, window.key).profile for window in windows])
    warehouse = dataset.warehouse
    quarantines = any(rule.action == "quarantine" for rule in dataset.quality)
    for table in (dataset.load.table, *([dataset.load.table + QUARANTINE_SUFFIX] if quarantines else [])):
        label_pii_columns(connection, warehouse.database, warehouse.schema_, table, labels, log)


def _abandon(ledger: LoadLedger, started: dict[str, str], cause: BaseException) -> None:
    """End the attempts a range started for windows it never reached, so none is left `pending`.

    A warehouse that went away leaves them to the next attempt's take-over: asking it would only wait for a timeout.
    """
    if not started or is_unreachable(cause) or is_unreachable(cause.__cause__ or cause):
        return
    # the load's own error is the one to report
    with contextlib.suppress(WarehouseError):
        ledger.abandon(
            list(started.values()),
            "Not loaded: an earlier window of its range failed, or the run stopped, before this window's turn; it "
            "changed nothing, so rerun the range.",
        )


def _shared_stagings(ledger: LoadLedger, dataset: DatasetConfig, requests: list[LoadRequest], run_id: str) -> dict[str, list[LoadRequest]]:
    """Each window staged with others, by key, to its group; windows this run already loaded are not staged again."""
    if len(requests) < 2:
        return {}
    loaded = ledger.windows_uploaded(dataset.name, object_name(dataset.load.table), run_id)
    groups = range_groups([request for request in requests if request.window_key not in loaded])
    return {request.window_key: group for group in groups if len(group) > 1 for request in group}


@dataclass(frozen=True)
class _PlannedLoad:
    """What load_windows knows of a window before loading it."""

    request: LoadRequest
    choice: KeyChoice
    verdict: QualityVerdict
    staged: StagedWindow | None
    # the table's columns as last read, or None
    columns: dict[str, str] | None
    # for a range: the windows whose quarantine table held rows before the run, by start; None: ask per window
    quarantined_before: set[dt.datetime] | None
    # log each step as it starts: for a lone window, whose load may take minutes; a range's windows would each
    # write a dozen events to the run's event log for nothing
    log_steps: bool
    # the ledger row its range started for the window, or None: the load starts its own
    load_id: str | None = None
    # say how the window loads: each event costs the run's event log a write, so a range's windows say it only
    # when it differs from the window before
    announce: bool = True


def _load_one(
    connection, ledger: LoadLedger, dataset: DatasetConfig, window: TimeWindow, planned: _PlannedLoad, log: Log, local: duckdb.DuckDBPyConnection
) -> WindowOutcome:
    request, choice, verdict = planned.request, planned.choice, planned.verdict
    if planned.announce:
        log.info(f"Loading {dataset.name} {window.key} with {request.strategy}: {choice.reason}")
    progress = (lambda step: log.debug(f"{window.key}: {step}")) if planned.log_steps else (lambda step: None)
    result = load_window(connection, request, ledger, progress, planned.staged, planned.columns, planned.load_id)
    if verdict.quarantine_path:
        quarantine = quarantine_request(request, verdict.quarantine_path)
        # an empty quarantine is loaded (and recorded) only to clear rows an earlier run quarantined
        if verdict.quarantined_rows or _held_rows(connection, quarantine, planned.quarantined_before):
            load_window(connection, quarantine, ledger, progress)
    reconciliation = None
    if result.skipped:
        log.warning(f"{dataset.name} {window.key}: {result.skipped}.")
    else:
        reconciliation = reconcile_window(connection, request, choice.keys, result, local)
    if result.already_loaded:
        log.info(f"{dataset.name} {window.key} was loaded by an earlier attempt of this run; it is not loaded again.")
    return WindowOutcome(window, result=result, choice=choice, verdict=verdict, reconciliation=reconciliation)


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


def record_skipped_windows(paths: ProjectPaths, dataset: DatasetConfig, windows: Sequence[TimeWindow], run_id: str, reason: str) -> None:
    """Without a connection there is no ledger to write: each window's skip is kept in the local skipped-loads file."""
    for window in windows:
        record_skipped(
            paths.warehouse,
            dataset=dataset.name,
            table_name=dataset.target_name,
            window_key=window.key,
            run_id=run_id,
            reason=reason,
            at=dt.datetime.now(dt.UTC),
        )


def quarantine_request(request: LoadRequest, quarantine_path: Path) -> LoadRequest:
    """The window's quarantined rows go to <TABLE>_QUARANTINE, replacing that window's earlier ones (even with none)."""
    return replace(
        request, table=request.table + QUARANTINE_SUFFIX, strategy="replace_window", keys=[], parquet_path=quarantine_path,
        sequence_by=None, load_empty=True, excluded_rows=None,
    )  # fmt: skip


def _held_rows(connection, request: LoadRequest, known: set[dt.datetime] | None) -> bool:
    """Whether the request's table exists and holds rows of its window (from `known` when the range asked once)."""
    if known is not None:
        return as_utc(request.window_start) in known
    if not column_types(connection, request.database, request.schema, request.table):
        return False
    return rows_in_window(connection, request.database, request.schema, request.table, request.window_start, request.window_end) > 0


def _quarantined_before(
    connection, dataset: DatasetConfig, windows: Sequence[TimeWindow], verdicts: dict[str, QualityVerdict]
) -> set[dt.datetime] | None:
    """For a range with a quarantine, the starts of its windows whose quarantine table holds rows, in one query."""
    if len(windows) < 2 or not any(verdict.quarantine_path for verdict in verdicts.values()):
        return None
    warehouse = dataset.warehouse
    table = dataset.load.table + QUARANTINE_SUFFIX
    if not column_types(connection, warehouse.database, warehouse.schema_, table):
        return set()
    return window_starts_with_rows(connection, warehouse.database, warehouse.schema_, table, windows[0].start, windows[-1].end)


def load_request(
    dataset: DatasetConfig, window: TimeWindow, load_path: Path, run_id: str, excluded: Path | None = None
) -> tuple[LoadRequest, KeyChoice]:
    """The window's load of `load_path` but its `excluded` rows, keyed by configured keys or, failing those, keys
    detected in the rows to load."""
    configured, strategy = dataset.load.keys or [], dataset.load.strategy
    if configured or strategy != "merge":
        # choose_keys looks at no column then; profiling a big window only to ignore it would cost seconds
        choice = choose_keys(configured, strategy, [])
    else:
        profile = profile_parquet(load_path, excluded=excluded)
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
        run_id=run_id,
        parquet_path=load_path,
        excluded_rows=excluded,
        dataset=dataset.name,
        sequence_by=dataset.load.sequence_by,
    )
    return request, choice
