"""The upload stage: a window's landed files, archived and read into one Parquet file with lineage."""

from __future__ import annotations

import fcntl
import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.config.models import DatasetConfig, SourceConfig
from etl_assets.errors import IngestError, LandingZoneError
from etl_assets.files import atomic_path, write_atomically
from etl_assets.ingest.archive import ArchivedFile, ArchiveOutcome, archive_file, archived_files
from etl_assets.ingest.landing import FailedFile, LandedFile, LandingZone
from etl_assets.ingest.members import source_members
from etl_assets.ingest.model import Lineage, Reject, SpooledFile
from etl_assets.ingest.names import normalise_column_name
from etl_assets.ingest.partitioning import files_by_window
from etl_assets.ingest.row_date_uploads import ROW_DATES_ARCHIVE, FileSplit, by_row_date, keep, load_file_split, split_matches, prune_splits, split_new_file, splits_folder, window_shares
from etl_assets.ingest.spool import LINEAGE_SCHEMA, combine_parts, spool_file
from etl_assets.ingest.windows import TimeWindow
from etl_assets.ingest.zones import landing_zone_for
from etl_assets.paths import ProjectPaths, window_slug

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
    failed_files: list[FailedFile]


def upload_path(paths: ProjectPaths, dataset_name: str, window_key: str) -> Path:
    """Where the upload stage writes a window's rows."""
    return paths.dataset_lake(dataset_name) / "uploads" / f"{window_slug(window_key)}.parquet"


def rejects_path_for(paths: ProjectPaths, dataset_name: str, window_key: str) -> Path:
    """Where the upload stage keeps a window's unreadable rows."""
    return paths.dataset_lake(dataset_name) / "rejects" / f"{window_slug(window_key)}.jsonl"


def ingest_window(dataset: DatasetConfig, paths: ProjectPaths, window: TimeWindow, zone: LandingZone | None = None) -> UploadResult:
    """Archive the window's landed files and rewrite its upload from every file archived for it, batch by batch.

    A landed file that cannot be read is set aside in the landing zone's `_failed/` with its reason, and the
    window's other files load (`failed_files`)."""
    output_path = upload_path(paths, dataset.name, window.key)
    zone = zone or landing_zone_for(dataset.source)
    with dataset_lock(paths.dataset_lake(dataset.name) / ".lock"), _parts_folder(output_path) as parts:
        taken = _archive_landed_files(dataset, zone, paths, window.key, parts)
        outcomes, fresh_reads, settling = taken.outcomes, taken.fresh_reads, taken.settling
        if by_row_date(dataset):
            files, spooled = _window_shares(dataset, paths, window.key, fresh_reads, parts)
        else:
            files = archived_files(paths.archive / dataset.name, window.key)
            spooled = [member for file in files for member in _spooled(file, fresh_reads.get(file.sha256), dataset.source, parts)]
        rejects = [(read.lineage.source_file, reject) for read in spooled for reject in read.summary.rejects]
        file_reads = [_file_read(read.lineage.source_file, read) for read in spooled]
        rejects_path = _write_rejects(rejects_path_for(paths, dataset.name, window.key), rejects)
        _check_reject_share(dataset.source, window.key, file_reads, rejects_path)
        if spooled:
            combine_parts(spooled, output_path)
        else:
            with atomic_path(output_path) as temporary:
                pq.write_table(_empty_upload(dataset), temporary)
    return UploadResult(
        window_key=window.key,
        output_path=output_path,
        row_count=sum(read.rows for read in spooled),
        files=files,
        new_files=sum(outcome.status == "new" for outcome in outcomes),
        duplicate_files=sum(outcome.status == "duplicate" for outcome in outcomes),
        settling_files=settling + sum(outcome.status == "changed" for outcome in outcomes),
        reject_count=len(rejects),
        rejects_path=rejects_path,
        columns=_columns(spooled),
        file_reads=file_reads,
        reject_examples=rejects[:REJECT_EXAMPLES],
        failed_files=taken.failed,
    )


def _spool(path: Path, source: SourceConfig, original_name: str, lineage: Lineage, parts: Path) -> list[SpooledFile]:
    """Each file the upload holds (itself, a zip's members, a workbook's sheets) spooled to a part of its own,
    under its own name in lineage (`orders.zip/a.csv`)."""
    members = source_members(path, original_name, source, parts)
    return [spool_file(read, Lineage(name, lineage.arrived_at), parts / f"{uuid.uuid4().hex}.parquet") for name, read in members]


def _spooled(file: ArchivedFile, fresh: list[SpooledFile] | None, source: SourceConfig, parts: Path) -> list[SpooledFile]:
    """The file's parts: those spooled as it was archived, unless the archive keeps its bytes under another arrival."""
    lineage = Lineage(file.original_name, file.arrived_at)
    if fresh is not None and all(read.lineage.is_within(lineage) for read in fresh):
        return fresh
    return _spool(file.path, source, file.original_name, lineage, parts)


def _window_shares(
    dataset: DatasetConfig, paths: ProjectPaths, window_key: str, fresh_reads: dict[str, FileSplit], parts: Path
) -> tuple[list[ArchivedFile], list[SpooledFile]]:
    """Under `partition_by: column`, the archived files with rows (or rejects) in the window, and those rows."""
    files, spooled = [], []
    current = archived_files(paths.archive / dataset.name, ROW_DATES_ARCHIVE)
    for file in current:
        kept = splits_folder(paths, dataset) / file.sha256
        split = fresh_reads.get(file.sha256) or load_file_split(kept)
        if split is None or not split_matches(split, file):
            lineage = Lineage(file.original_name, file.arrived_at)
            split = keep(_split_new(file.path, dataset, file.original_name, lineage, parts), kept)
        shares = window_shares(file, split, window_key, parts)
        if shares:
            files.append(file)
            spooled.extend(shares)
    prune_splits(paths, dataset, {file.sha256 for file in current})
    return files, spooled


def _columns(spooled: list[SpooledFile]) -> dict[str, str]:
    """Each column's header, as the first file that has it names it."""
    columns: dict[str, str] = {}
    for read in spooled:
        columns = read.summary.columns | columns
    return columns


def _file_read(name: str, read: SpooledFile) -> FileRead:
    summary = read.summary
    return FileRead(name, read.rows, len(summary.rejects), summary.encoding, summary.short_rows, summary.renamed)


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


@dataclass(frozen=True)
class _Taken:
    """What taking a window's landed files did: each outcome, the reads of new content by hash, how many files
    still settle, and the files set aside as unreadable."""

    outcomes: list[ArchiveOutcome[list[SpooledFile] | FileSplit]]
    fresh_reads: dict[str, list[SpooledFile] | FileSplit]
    settling: int
    failed: list[FailedFile]


def _archive_landed_files(dataset: DatasetConfig, zone: LandingZone, paths: ProjectPaths, window_key: str, parts: Path) -> _Taken:
    """Take the window's settled files into the archive, reading each new content as it is archived. Under
    `partition_by: column` every settled file may have rows in the window, so all are taken, and split by window."""
    scan = zone.scan()
    rows_dated = by_row_date(dataset)
    if rows_dated:
        ready, settling, unplaced = scan.ready, scan.settling, []
    else:
        by_window, unplaced = files_by_window(scan.ready, dataset.source, dataset.partitions)
        ready = by_window.get(window_key, [])
        settling = files_by_window(scan.settling, dataset.source, dataset.partitions)[0].get(window_key, [])
    # A file no window takes would wait in landing forever: it is set aside by whichever window runs first.
    taken = _Taken([], {}, len(settling), [_set_aside(zone, file, str(problem)) for file, problem in unplaced])
    dataset_archive = paths.archive / dataset.name
    for file in ready:
        lineage = Lineage(file.name, file.arrived_at)
        read = partial(_split_new, dataset=dataset) if rows_dated else partial(_spool, source=dataset.source)
        read = partial(read, original_name=file.name, lineage=lineage, parts=parts)
        try:
            # The archived copy is read before the landed file goes, so a file that cannot be read stays in landing.
            outcome = archive_file(file, zone, dataset_archive, ROW_DATES_ARCHIVE if rows_dated else window_key, read)
        except LandingZoneError:
            raise  # the zone failed, not the file: it stays in landing for the next run
        except IngestError as exc:
            taken.failed.append(_set_aside(zone, file, str(exc)))
            continue
        taken.outcomes.append(outcome)
        if outcome.status == "new":
            kept = keep(outcome.read, splits_folder(paths, dataset) / outcome.file.sha256) if rows_dated else outcome.read
            taken.fresh_reads[outcome.file.sha256] = kept
    return taken


def _split_new(path: Path, dataset: DatasetConfig, original_name: str, lineage: Lineage, parts: Path) -> FileSplit:
    return split_new_file(path, dataset, original_name, lineage, parts)


def _set_aside(zone: LandingZone, file: LandedFile, reason: str) -> FailedFile:
    """Move an unreadable landed file to `_failed/`, so it neither blocks its window nor is tried on every run."""
    where = zone.set_aside(file, reason)
    return FailedFile(file.name, where, reason, datetime.now(UTC))


@contextmanager
def _parts_folder(output_path: Path) -> Iterator[Path]:
    """A folder for the window's Parquet parts beside its upload; the dataset's lock is held, so one left there is a dead run's."""
    folder = output_path.with_name(f".{output_path.stem}.parts")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def dataset_lock(lock_path: Path) -> Iterator[None]:
    """The dataset's lake to ourselves: an upload and an erase of the same dataset never rewrite its files at once."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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

