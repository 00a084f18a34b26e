"""Retention: a dataset's windows that ended more than `compliance.retention_days` ago are deleted everywhere they
live: the table, its quarantine table, the lake and the archive (docs/architecture.md §8).

Each run looks for expired windows in every one of those places, so what a stopped run left behind is found and
removed by the next. The order keeps a failure cheap: the warehouse first (one transaction per table, the ledger's
rows committing with the table's), the files after; a failure in the warehouse leaves every file, and a failure among
the files leaves only files of windows already deleted and recorded.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from snowflake.connector import errors as sf_errors

from etl_assets.config.columns import QUARANTINE_SUFFIX, WINDOW_END, WINDOW_START
from etl_assets.config.models import DatasetConfig, PartitionsConfig
from etl_assets.errors import EtlAssetsError, IngestError
from etl_assets.ingest.upload import rejects_path_for
from etl_assets.ingest.windows import TimeWindow, window_for, window_from_key
from etl_assets.lake import stage_paths
from etl_assets.paths import ProjectPaths, window_slug
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.ddl import existing_columns
from etl_assets.warehouse.errors import MISSING_OBJECT_ERRNOS, classify, roll_back_after
from etl_assets.warehouse.identifiers import object_name
from etl_assets.warehouse.ledger import LoadLedger
from etl_assets.warehouse.model import as_utc

ACTOR = "retention"
# rows of a window: its start inside the window, and its end before the cutoff, so no row still kept is touched
EXPIRED_ROWS = f"{quote_identifier(WINDOW_START)} >= %s AND {quote_identifier(WINDOW_START)} < %s AND {quote_identifier(WINDOW_END)} < %s"


class RetentionError(EtlAssetsError):
    """Retention cannot run for a dataset, or stopped part way; the message says what is left and what to do."""


@dataclass(frozen=True)
class ExpiredWindow:
    """One expired window and what of it was (or, on a dry run, would be) removed."""

    window: TimeWindow
    table_rows: int = 0
    quarantine_rows: int = 0
    lake_files: tuple[Path, ...] = ()
    archived_files: tuple[Path, ...] = ()

    @property
    def key(self) -> str:
        return self.window.key

    @property
    def detail(self) -> str:
        """What the ledger row says, in counts."""
        return (
            f"table {self.table_rows} rows, quarantine {self.quarantine_rows} rows, "
            f"{len(self.lake_files)} lake files, {len(self.archived_files)} archived files"
        )


@dataclass(frozen=True)
class RetentionResult:
    """What one retention run of a dataset removed (or, on a dry run, would remove), window by window."""

    dataset: str
    retention_days: int
    cutoff: dt.datetime
    dry_run: bool
    windows: tuple[ExpiredWindow, ...]

    @property
    def total(self) -> ExpiredWindow:
        """Every window's counts added up, as one line like a window's."""
        return ExpiredWindow(
            TimeWindow("total", self.cutoff, self.cutoff),
            sum(window.table_rows for window in self.windows),
            sum(window.quarantine_rows for window in self.windows),
            tuple(path for window in self.windows for path in window.lake_files),
            tuple(path for window in self.windows for path in window.archived_files),
        )

    def lines(self) -> list[str]:
        """One line per expired window and a total, as the CLI and the run's log show them."""
        verb = "would remove" if self.dry_run else "removed"
        windows = len(self.windows)
        return [
            f"{self.dataset}: windows that ended before {self.cutoff:%Y-%m-%d %H:%M} UTC ({self.retention_days} days ago) expire",
            *(f"  {expired.key}: {verb} {expired.detail}" for expired in self.windows),
            f"total: {verb} {windows} window{'' if windows == 1 else 's'}: {self.total.detail}" if windows else "total: no window has expired",
        ]


def retention_cutoff(dataset: DatasetConfig, now: dt.datetime) -> dt.datetime:
    """The moment before which a window must have ended to expire; refused for a dataset that keeps its windows."""
    days = dataset.compliance.retention_days
    if days is None:
        raise RetentionError(
            f"Dataset '{dataset.name}' has no compliance.retention_days, so none of its windows expire; set "
            "compliance.retention_days for it to delete windows older than that many days."
        )
    return as_utc(now) - dt.timedelta(days=days)


def expire_windows(
    dataset: DatasetConfig, paths: ProjectPaths, connection, now: dt.datetime, run_id: str, dry_run: bool = False
) -> RetentionResult:
    """Delete the windows that ended more than retention_days before `now`, each with a ledger row (`expired`).

    A dry run only counts and lists: it changes nothing and writes no ledger row."""
    cutoff = retention_cutoff(dataset, now)
    found = find_expired(dataset, paths, connection, cutoff)
    if found and not dry_run:
        found = _delete(dataset, paths, connection, found, cutoff, run_id)
    return RetentionResult(dataset.name, dataset.compliance.retention_days or 0, cutoff, dry_run, tuple(found))


def find_expired(dataset: DatasetConfig, paths: ProjectPaths, connection, cutoff: dt.datetime) -> list[ExpiredWindow]:
    """Every window ended before `cutoff` that still has rows in the table or its quarantine table, lake files or
    archived uploads, oldest first, with what it has in each."""
    table_rows = _rows_by_window(connection, dataset, dataset.load.table, cutoff)
    quarantine_rows = _rows_by_window(connection, dataset, dataset.load.table + QUARANTINE_SUFFIX, cutoff)
    windows = {**_windows_in_lake(paths, dataset), **_windows_in_archive(paths, dataset)}
    windows |= {key: window for key, (window, _) in (table_rows | quarantine_rows).items()}
    expired = sorted((window for window in windows.values() if window.end < cutoff), key=lambda window: window.start)
    return [
        ExpiredWindow(
            window,
            table_rows.get(window.key, (window, 0))[1],
            quarantine_rows.get(window.key, (window, 0))[1],
            tuple(path for path in lake_files(paths, dataset.name, window.key) if path.is_file()),
            tuple(_files_under(_archive_folder(paths, dataset.name, window.key))),
        )
        for window in expired
    ]


def lake_files(paths: ProjectPaths, dataset_name: str, window_key: str) -> list[Path]:
    """Every file a window may have in the lake: each stage's (lake.StagePaths) and the upload's rejects."""
    stage = stage_paths(paths, dataset_name, window_key)
    every = [getattr(stage, field.name) for field in fields(stage)]
    return [path for path in every if isinstance(path, Path)] + [rejects_path_for(paths, dataset_name, window_key)]


def _rows_by_window(connection, dataset: DatasetConfig, table: str, cutoff: dt.datetime) -> dict[str, tuple[TimeWindow, int]]:
    """The table's rows that ended before `cutoff`, counted by window; empty when there is no such table."""
    warehouse = dataset.warehouse
    target = qualified_name(*(object_name(name) for name in (warehouse.database, warehouse.schema_, table)))
    start = quote_identifier(WINDOW_START)
    try:
        if not _table_exists(connection, dataset, table):
            return {}
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {start}, COUNT(*) FROM {target} WHERE {quote_identifier(WINDOW_END)} < %s GROUP BY {start}", (cutoff,))
            found = cursor.fetchall()
    except sf_errors.Error as exc:
        raise classify(exc, f"Looking for expired windows of {dataset.name} in {warehouse.table_name(table)}") from exc
    counts: dict[str, tuple[TimeWindow, int]] = {}
    for moment, rows in found:
        window = window_for(as_utc(moment), dataset.partitions)
        counts[window.key] = (window, counts.get(window.key, (window, 0))[1] + int(rows))
    return counts


def _table_exists(connection, dataset: DatasetConfig, table: str) -> bool:
    """Whether the table is there; a database no load has made yet holds none. Raises the connector's own error."""
    names = [object_name(name) for name in (dataset.warehouse.database, dataset.warehouse.schema_, table)]
    try:
        with connection.cursor() as cursor:
            return bool(existing_columns(cursor, *names))
    except sf_errors.ProgrammingError as exc:
        if exc.errno in MISSING_OBJECT_ERRNOS:
            return False
        raise


def _windows_in_lake(paths: ProjectPaths, dataset: DatasetConfig) -> dict[str, TimeWindow]:
    folders = {path.parent for path in lake_files(paths, dataset.name, "window")}
    names = {child.name.split(".", 1)[0] for folder in folders if folder.is_dir() for child in folder.iterdir() if child.is_file()}
    return _windows_of_slugs(names, dataset.partitions)


def _windows_in_archive(paths: ProjectPaths, dataset: DatasetConfig) -> dict[str, TimeWindow]:
    """The windows with an archive folder; `by-row-date` (partition_by: column) names no window and is kept."""
    archive = paths.archive / dataset.name
    names = {child.name for child in archive.iterdir() if child.is_dir()} if archive.is_dir() else set()
    return _windows_of_slugs(names, dataset.partitions)


def _windows_of_slugs(slugs: set[str], partitions: PartitionsConfig) -> dict[str, TimeWindow]:
    """The windows named by file or folder names (paths.window_slug: an hourly key without its colon); other names
    are no window's and are left alone."""
    windows = {}
    for slug in slugs:
        key = f"{slug[:13]}:{slug[13:]}" if partitions.cadence == "hourly" else slug
        try:
            window = window_from_key(key, partitions)
        except IngestError:
            continue
        windows[window.key] = window
    return windows


def _archive_folder(paths: ProjectPaths, dataset_name: str, window_key: str) -> Path:
    return paths.archive / dataset_name / window_slug(window_key)


def _files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else []


def _delete(dataset: DatasetConfig, paths: ProjectPaths, connection, found: list[ExpiredWindow], cutoff: dt.datetime, run_id: str) -> list[ExpiredWindow]:
    """The quarantine table's rows, then the table's with the ledger rows, then the lake files and archived uploads."""
    warehouse = dataset.warehouse
    ledger = LoadLedger(connection, warehouse.database, warehouse.schema_)
    ledger.session()  # makes the ledger table ready first: DDL inside the transaction would commit it early
    quarantined = _delete_rows(connection, dataset, dataset.load.table + QUARANTINE_SUFFIX, found, cutoff, "nothing was deleted")

    def record(deleted: dict[str, int]) -> None:
        for expired in found:
            done = replace(expired, table_rows=deleted[expired.key], quarantine_rows=quarantined[expired.key])
            ledger.record_deletion(
                dataset=dataset.name, table_name=dataset.target_name, status="expired", rows_deleted=done.table_rows,
                detail=done.detail, actor=ACTOR, run_id=run_id, window=(done.key, done.window.start, done.window.end),
            )  # fmt: skip

    kept = "their quarantine rows are deleted but their table rows and files are as they were" if any(quarantined.values()) else "nothing was deleted"
    deleted = _delete_rows(connection, dataset, dataset.load.table, found, cutoff, kept, record)
    done = [replace(expired, table_rows=deleted[expired.key], quarantine_rows=quarantined[expired.key]) for expired in found]
    for expired in done:
        _remove_files(dataset, expired, _archive_folder(paths, dataset.name, expired.key))
    return done


def _delete_rows(
    connection,
    dataset: DatasetConfig,
    table: str,
    found: Sequence[ExpiredWindow],
    cutoff: dt.datetime,
    outcome: str,
    before_commit: Callable[[dict[str, int]], None] = lambda deleted: None,
) -> dict[str, int]:
    """Delete the windows' rows of one table in one transaction (none when the table is missing), `before_commit`
    writing inside it; the rows deleted per window."""
    warehouse = dataset.warehouse
    target = qualified_name(*(object_name(name) for name in (warehouse.database, warehouse.schema_, table)))
    try:
        exists = _table_exists(connection, dataset, table)
        cursor = connection.cursor()
        cursor.execute("BEGIN")
        try:
            deleted = {}
            for expired in found:
                deleted[expired.key] = 0
                if exists:
                    cursor.execute(f"DELETE FROM {target} WHERE {EXPIRED_ROWS}", (as_utc(expired.window.start), as_utc(expired.window.end), cutoff))
                    deleted[expired.key] = cursor.rowcount or 0
            before_commit(deleted)
            cursor.execute("COMMIT")
        except BaseException as exc:
            roll_back_after(cursor, exc)
            raise
    except sf_errors.Error as exc:
        raise classify(exc, f"Deleting the expired windows of {dataset.name} from {warehouse.table_name(table)}", outcome=outcome) from exc
    return deleted


def _remove_files(dataset: DatasetConfig, expired: ExpiredWindow, archive_folder: Path) -> None:
    """The window's lake files, then its archive folder; what a failure leaves is found by the next run."""
    try:
        for path in expired.lake_files:
            path.unlink(missing_ok=True)
        if archive_folder.is_dir():
            shutil.rmtree(archive_folder)
    except OSError as exc:
        raise RetentionError(
            f"Removing the files of expired window {expired.key} of {dataset.name} failed ({exc.strerror or exc}); its "
            "warehouse rows are deleted and recorded, so fix that and run retention again to remove the rest."
        ) from exc
