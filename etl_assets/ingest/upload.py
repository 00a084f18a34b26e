"""The upload stage: a window's landed files, archived and read into one Parquet file with lineage."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl_assets.config.columns import ARRIVED_AT, SOURCE_FILE, SOURCE_ROW
from etl_assets.config.models import DatasetConfig, SourceConfig
from etl_assets.errors import IngestError
from etl_assets.files import atomic_path, write_atomically
from etl_assets.ingest.archive import ArchivedFile, ArchiveOutcome, archive_file, archived_files
from etl_assets.ingest.landing import LandedFile, landing_zone_for
from etl_assets.ingest.names import normalise_column_name
from etl_assets.ingest.partitioning import partition_keys_for
from etl_assets.ingest.readers import ReadResult, Reject, read_file
from etl_assets.ingest.windows import TimeWindow
from etl_assets.paths import ProjectPaths, window_slug

ARRIVED_AT_TYPE = pa.timestamp("us", tz="UTC")
LINEAGE_SCHEMA = pa.schema([(SOURCE_FILE, pa.string()), (SOURCE_ROW, pa.int64()), (ARRIVED_AT, ARRIVED_AT_TYPE)])
REJECT_EXAMPLES = 5


@dataclass(frozen=True)
class FileRead:
    """What reading one file of a window gave: rows, rejects, the encoding used, padded rows, renamed headers."""

    name: str
    rows: int
    rejects: int
    encoding: str | None
    short_rows: int
    renamed: dict[str, str]


@dataclass(frozen=True)
class UploadResult:
    """What ingesting one window produced; `reject_examples` are its first few rejects, by file."""

    window_key: str
    output_path: Path
    row_count: int
    files: list[ArchivedFile]
    new_files: int
    duplicate_files: int
    settling_files: int
    reject_count: int
    rejects_path: Path | None
    columns: dict[str, str]
    file_reads: list[FileRead]
    reject_examples: list[tuple[str, Reject]]


def upload_path(paths: ProjectPaths, dataset_name: str, window_key: str) -> Path:
    """Where the upload stage writes a window's rows."""
    return paths.dataset_lake(dataset_name) / "uploads" / f"{window_slug(window_key)}.parquet"


def rejects_path_for(paths: ProjectPaths, dataset_name: str, window_key: str) -> Path:
    """Where the upload stage keeps a window's unreadable rows."""
    return paths.dataset_lake(dataset_name) / "rejects" / f"{window_slug(window_key)}.jsonl"


def pending_windows(dataset: DatasetConfig) -> dict[str, list[LandedFile]]:
    """The settled files waiting in landing, grouped by the window they belong to."""
    return by_window(dataset, landing_zone_for(dataset.source).list_files())


def by_window(dataset: DatasetConfig, files: list[LandedFile]) -> dict[str, list[LandedFile]]:
    """Landed files grouped by the window they belong to, windows in order."""
    grouped: dict[str, list[LandedFile]] = {}
    for file, key in zip(files, partition_keys_for(files, dataset.source, dataset.partitions), strict=True):
        grouped.setdefault(key, []).append(file)
    return dict(sorted(grouped.items()))


def ingest_window(dataset: DatasetConfig, paths: ProjectPaths, window: TimeWindow) -> UploadResult:
    """Archive the window's landed files and rewrite its upload from every file archived for it."""
    with _dataset_lock(paths.dataset_lake(dataset.name) / ".lock"):
        outcomes, fresh_reads, settling = _archive_landed_files(dataset, paths.archive / dataset.name, window.key)
        files = archived_files(paths.archive / dataset.name, window.key)
        tables, rejects, columns, file_reads = [], [], {}, []
        for file in files:
            result = fresh_reads.get(file.sha256) or read_source_file(file.path, dataset.source, file.original_name)
            tables.append(_with_lineage(result.table, file))
            rejects.extend((file.original_name, reject) for reject in result.rejects)
            columns = result.columns | columns
            file_reads.append(_file_read(file.original_name, result))
        table = _union(tables) if tables else _empty_upload(dataset)
        rejects_path = _write_rejects(rejects_path_for(paths, dataset.name, window.key), rejects)
        _check_reject_share(dataset.source, window.key, file_reads, rejects_path)
        output_path = upload_path(paths, dataset.name, window.key)
        with atomic_path(output_path) as temporary:
            pq.write_table(table, temporary)
    return UploadResult(
        window_key=window.key,
        output_path=output_path,
        row_count=table.num_rows,
        files=files,
        new_files=sum(outcome.status == "new" for outcome in outcomes),
        duplicate_files=sum(outcome.status == "duplicate" for outcome in outcomes),
        settling_files=settling + sum(outcome.status == "changed" for outcome in outcomes),
        reject_count=len(rejects),
        rejects_path=rejects_path,
        columns=columns,
        file_reads=file_reads,
        reject_examples=rejects[:REJECT_EXAMPLES],
    )


def read_source_file(path: Path, source: SourceConfig, original_name: str) -> ReadResult:
    """Read one file as the dataset's source says: its format and, when set, its encoding."""
    return read_file(path, source.format, original_name, source.encoding)


def _file_read(name: str, result: ReadResult) -> FileRead:
    return FileRead(name, result.table.num_rows, len(result.rejects), result.encoding, result.short_rows, result.renamed)


def _check_reject_share(source: SourceConfig, window_key: str, file_reads: list[FileRead], rejects_path: Path | None) -> None:
    """A window whose unreadable rows pass `max_reject_percent` fails, so a mostly unread file never loads quietly."""
    rejected = sum(read.rejects for read in file_reads)
    total = rejected + sum(read.rows for read in file_reads)
    share = 100 * rejected / total if total else 0.0
    if share <= source.max_reject_percent:
        return
    worst = max(file_reads, key=lambda read: read.rejects)
    raise IngestError(
        f"{worst.name!r} has {worst.rejects} unreadable row{'s' if worst.rejects > 1 else ''} "
        f"({rejected} of {total} rows of window {window_key}, "
        f"{share:.1f}% > source.max_reject_percent {source.max_reject_percent:g}%), listed with their lines in {rejects_path}: "
        "fix the file and upload it again under the same name, or raise source.max_reject_percent."
    )


def _empty_upload(dataset: DatasetConfig) -> pa.Table:
    """A window without files: no rows, but the source columns the transform reads, so the chain runs on."""
    declared = dataset.transform.columns.items() if dataset.transform else ()
    names = dict.fromkeys(normalise_column_name(spec.from_ or name) for name, spec in declared if spec.expr is None)
    return pa.schema([(name, pa.string()) for name in names] + list(LINEAGE_SCHEMA)).empty_table()


def _archive_landed_files(
    dataset: DatasetConfig, dataset_archive: Path, window_key: str
) -> tuple[list[ArchiveOutcome[ReadResult]], dict[str, ReadResult], int]:
    """Take the window's settled files into the archive; what was read from new ones by hash, and how many still settle."""
    scan = landing_zone_for(dataset.source).scan()
    outcomes, fresh_reads = [], {}
    for file in by_window(dataset, scan.ready).get(window_key, []):
        # The archived copy is read before the landed file goes, so a file that cannot be read stays in landing.
        outcome = archive_file(file, dataset_archive, window_key, lambda path, name=file.name: read_source_file(path, dataset.source, name))
        outcomes.append(outcome)
        if outcome.status == "new":
            fresh_reads[outcome.file.sha256] = outcome.read
    return outcomes, fresh_reads, len(by_window(dataset, scan.settling).get(window_key, []))


@contextmanager
def _dataset_lock(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _with_lineage(table: pa.Table, file: ArchivedFile) -> pa.Table:
    rows = table.num_rows
    source_rows = table[SOURCE_ROW]
    data = table.drop_columns([SOURCE_ROW])
    data = data.append_column(SOURCE_FILE, pa.array([file.original_name] * rows, pa.string()))
    data = data.append_column(SOURCE_ROW, source_rows)
    return data.append_column(ARRIVED_AT, pa.array([file.arrived_at] * rows, ARRIVED_AT_TYPE))


def _union(tables: list[pa.Table]) -> pa.Table:
    """All tables under one schema: missing columns are null, and a column whose files disagree becomes text."""
    types: dict[str, set[pa.DataType]] = {}
    for table in tables:
        for field in table.schema:
            types.setdefault(field.name, set())
            if not pa.types.is_null(field.type):
                types[field.name].add(field.type)
    lineage = set(LINEAGE_SCHEMA.names)
    names = [name for name in types if name not in lineage] + LINEAGE_SCHEMA.names
    schema = pa.schema([(name, _common_type(types.get(name, set()), name)) for name in names])
    if not tables:
        return schema.empty_table()
    return pa.concat_tables([_conform(table, schema) for table in tables])


def _common_type(types: set[pa.DataType], name: str) -> pa.DataType:
    if name in LINEAGE_SCHEMA.names:
        return LINEAGE_SCHEMA.field(name).type
    return next(iter(types)) if len(types) == 1 else pa.string()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, field.type))
        elif table.schema.field(field.name).type == field.type:
            columns.append(table[field.name])
        else:
            columns.append(_as_text(table[field.name]))
    return pa.Table.from_arrays(columns, schema=schema)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        # Nested values have no Arrow cast to text; JSON keeps them readable.
        values = column.to_pylist()
        return pa.chunked_array([pa.array([None if value is None else json.dumps(value, default=str) for value in values], pa.string())])


def _write_rejects(path: Path, rejects: list[tuple[str, Reject]]) -> Path | None:
    if not rejects:
        path.unlink(missing_ok=True)
        return None
    lines = [
        json.dumps({"source_file": name, "line": reject.line, "reason": reject.reason, "raw": reject.raw}, ensure_ascii=False)
        for name, reject in rejects
    ]
    write_atomically(path, "\n".join(lines) + "\n")
    return path

