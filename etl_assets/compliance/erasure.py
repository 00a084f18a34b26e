"""Erasure: one subject's rows out of the table, the quarantine table, the lake and the archive (docs/architecture.md §8).

Everything is counted first, and whatever cannot be done (a stale window, an archived file that cannot be
rewritten, a column that cannot be matched) is refused before anything changes. Then the files go first, the
archive before the lake, since a rerun of a window rebuilds the lake from the archive and the table from the lake:
once the files are clean nothing can bring the subject back. The table and the quarantine table follow, each
DELETE in its own transaction, and the ledger's `erased` row comes last. A crash anywhere leaves every file whole
(each is replaced in one rename); running the same erase again finishes the job, since each step only takes out
what is still there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pyarrow.parquet as pq
from snowflake.connector import errors as sf_errors

from etl_assets.compliance.archive_erasure import archived_contents, erase_from_archived, unrewritable
from etl_assets.compliance.lake_erasure import LakeCounts, check_positions, erase_from_lake, lake_windows
from etl_assets.compliance.subject import ErasureError, Subject
from etl_assets.config.columns import QUARANTINE_SUFFIX
from etl_assets.config.models import DatasetConfig
from etl_assets.ingest.row_date_uploads import by_row_date, splits_folder
from etl_assets.ingest.upload import dataset_lock
from etl_assets.lake import stage_paths
from etl_assets.paths import ProjectPaths
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.reconcile import column_types
from etl_assets.warehouse.errors import classify, roll_back_after
from etl_assets.warehouse.identifiers import object_name
from etl_assets.warehouse.ledger import LoadLedger

ERASED = "erased"


@dataclass(frozen=True)
class ErasureCounts:
    """The subject's rows, where they are: the table, the quarantine table, the lake, the archived uploads."""

    table: int = 0
    quarantine_table: int = 0
    lake: LakeCounts = field(default_factory=LakeCounts)
    archived_records: int = 0
    archived_files: int = 0

    @property
    def total(self) -> int:
        return self.table + self.quarantine_table + self.lake.rows + self.archived_records

    def detail(self, subject: Subject) -> str:
        """What was removed where, in counts and names only (the ledger's DETAIL; never the value)."""
        lake = self.lake
        how = " (hashed)" if subject.hashed else ""
        return (
            f"erased by column {subject.column}{how}: table {self.table} rows; quarantine table {self.quarantine_table} rows; "
            f"lake {lake.rows} rows in {lake.files} files (uploads {lake.uploads}, transformed {lake.transformed}, "
            f"loadable {lake.loadable}, quarantine {lake.quarantine}, reject lines {lake.rejects}); "
            f"archived uploads {self.archived_records} records in {self.archived_files} files"
        )


@dataclass(frozen=True)
class Erasure:
    """What an erase found (dry run) or removed, and its ledger row's id (None for a dry run)."""

    dataset: str
    subject: Subject
    counts: ErasureCounts
    dry_run: bool
    audit_id: str | None = None
    run_id: str | None = None
    notes: tuple[str, ...] = ()


def erase_subject(dataset: DatasetConfig, paths: ProjectPaths, connection, subject: Subject, *, actor: str, dry_run: bool) -> Erasure:
    """Find the subject everywhere; unless `dry_run`, take it out everywhere and record it in the ledger.

    The dataset's lock keeps the upload stage from reading the archive while it is rewritten."""
    tables = _Tables(connection, dataset)
    _check_column(dataset, paths, subject, tables)
    with dataset_lock(paths.dataset_lake(dataset.name) / ".lock"):
        check_positions(paths, dataset.name)
        contents = archived_contents(paths.archive / dataset.name)
        refused = unrewritable(contents, dataset.source) if subject.source_column is not None else []
        if refused:
            raise ErasureError(
                f"Erase cannot rewrite the archived uploads {', '.join(refused)} of dataset '{dataset.name}' record by "
                "record (zips, workbooks and compressed Parquet are not rewritten), so nothing was changed; "
                "remove the subject from those files by hand, or delete them from the archive, and erase again."
            )
        splits = splits_folder(paths, dataset) if by_row_date(dataset) else None
        archived = [erase_from_archived(content, dataset.source, subject, write=False) for content in contents]
        planned = ErasureCounts(
            table=tables.count(subject), quarantine_table=tables.count(subject, quarantine=True),
            lake=erase_from_lake(paths, dataset.name, subject, write=False),
            archived_records=sum(archived), archived_files=sum(1 for count in archived if count),
        )  # fmt: skip
        notes = _notes(dataset, subject)
        if dry_run:
            return Erasure(dataset.name, subject, planned, dry_run=True, notes=notes)
        archived = [
            erase_from_archived(content, dataset.source, subject, write=True, splits=splits) if count else 0
            for content, count in zip(contents, archived)
        ]
        lake = erase_from_lake(paths, dataset.name, subject, write=True)
    done = ErasureCounts(
        table=tables.delete(subject), quarantine_table=tables.delete(subject, quarantine=True), lake=lake,
        archived_records=sum(archived), archived_files=sum(1 for count in archived if count),
    )  # fmt: skip
    run_id = f"erase-{uuid.uuid4()}"
    audit_id = LoadLedger(connection, dataset.warehouse.database, dataset.warehouse.schema_).record_deletion(
        dataset=dataset.name, table_name=dataset.target_name, status=ERASED, rows_deleted=done.total,
        detail=done.detail(subject), actor=actor, run_id=run_id,
    )  # fmt: skip
    return Erasure(dataset.name, subject, done, dry_run=False, audit_id=audit_id, run_id=run_id, notes=notes)


def _notes(dataset: DatasetConfig, subject: Subject) -> tuple[str, ...]:
    if subject.source_column is not None:
        return ()
    return (
        f"the column '{subject.column}' is computed by an expression, so the uploads and the archive (which hold only "
        "source columns) were not searched and still hold the subject's records; erase by a column read from the "
        f"uploads too, or a rerun of a window of '{dataset.name}' brings those rows back",
    )


def _check_column(dataset: DatasetConfig, paths: ProjectPaths, subject: Subject, tables: _Tables) -> None:
    """A dataset without declared columns: the column must be one of its table's or its transformed files'."""
    if dataset.transform is not None and dataset.transform.columns:
        return
    known = set(tables.columns())
    for window in lake_windows(paths, dataset.name):
        transformed = stage_paths(paths, dataset.name, window).transformed
        if transformed.exists():
            known |= {name.lower() for name in pq.read_schema(transformed).names}
    if subject.column.lower() not in known:
        raise ErasureError(
            f"Dataset '{dataset.name}' has no column '{subject.column}'; erase by one of its table's columns: "
            f"{', '.join(sorted(known)) or '(nothing is loaded yet)'}."
        )


class _Tables:
    """The dataset's table and quarantine table, counted and deleted from by one bound value."""

    def __init__(self, connection, dataset: DatasetConfig) -> None:
        self.connection = connection
        warehouse = dataset.warehouse
        self.database, self.schema = object_name(warehouse.database), object_name(warehouse.schema_)
        self.table = object_name(dataset.load.table)

    def columns(self, quarantine: bool = False) -> list[str]:
        """The table's columns in lower case; none when it does not exist yet."""
        return [name.lower() for name in column_types(self.connection, self.database, self.schema, self._name(quarantine))]

    def count(self, subject: Subject, quarantine: bool = False) -> int:
        rows = self._rows(subject, quarantine)
        if rows is None:
            return 0
        with self.connection.cursor() as cursor:
            try:
                return self._count(cursor, rows, subject)
            except sf_errors.Error as exc:
                raise classify(exc, f"Counting the rows to erase in {self._name(quarantine)}") from None

    def delete(self, subject: Subject, quarantine: bool = False) -> int:
        """DELETE the subject's rows in one transaction; how many there were."""
        rows = self._rows(subject, quarantine)
        if rows is None:
            return 0
        with self.connection.cursor() as cursor:
            cursor.execute("BEGIN")
            try:
                found = self._count(cursor, rows, subject)
                cursor.execute(f"DELETE FROM {rows}", (subject.table_value,))
                cursor.execute("COMMIT")
            except sf_errors.Error as exc:
                roll_back_after(cursor, exc)
                raise classify(exc, f"Erasing from {self._name(quarantine)}", outcome="its rows are as they were") from None
        return found

    def _count(self, cursor, rows: str, subject: Subject) -> int:
        cursor.execute(f"SELECT COUNT(*) FROM {rows}", (subject.table_value,))
        return int(cursor.fetchone()[0])

    def _rows(self, subject: Subject, quarantine: bool) -> str | None:
        """`<table> WHERE <column> = %s`, or None when the table (or the column) is not there."""
        columns = column_types(self.connection, self.database, self.schema, self._name(quarantine))
        name = next((column for column in columns if column.lower() == subject.column.lower()), None)
        if name is None:
            return None
        return f"{qualified_name(self.database, self.schema, self._name(quarantine))} WHERE {quote_identifier(name)} = %s"

    def _name(self, quarantine: bool) -> str:
        return self.table + QUARANTINE_SUFFIX if quarantine else self.table
