"""What waits in a landing zone, by the windows it will feed: what the upload sensor requests runs for."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc

from etl_assets.config.models import ColumnPartitioning, DatasetConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.landing import LandedFile, LandingZone
from etl_assets.ingest.partitioning import files_by_window
from etl_assets.ingest.row_windows import WindowRange, windowed_batches
from etl_assets.ingest.members import source_members
from etl_assets.ingest.row_date_uploads import windows_fed_now
from etl_assets.paths import ProjectPaths


@dataclass(frozen=True)
class PendingUploads:
    """Settled files by the windows they feed (a file dated by its rows may feed several), the files no window
    takes with why, the files still settling, and the windows found in each file read for them (by signature)."""

    windows: dict[str, list[LandedFile]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    settling: list[LandedFile] = field(default_factory=list)
    row_windows: dict[str, list[str]] = field(default_factory=dict)


def signature(file: LandedFile) -> str:
    """What tells one version of a landed file from another: its S3 ETag, or its size and modification time."""
    return f"{file.size}:{file.etag}" if file.etag else f"{file.size}:{int(file.arrived_at.timestamp() * 1_000_000)}"


def pending_uploads(
    dataset: DatasetConfig, zone: LandingZone, known_row_windows: dict[str, list[str]] | None = None, paths: ProjectPaths | None = None
) -> PendingUploads:
    """The landing zone's settled files by window. Under `partition_by: column` a file's windows are its rows'
    dates, so a file is read for them once (`known_row_windows`, signature -> windows, holds what earlier calls read),
    and a new version of an archived file (under `paths`) also feeds the windows the old one fed, which it rebuilds."""
    scan = zone.scan()
    pending = PendingUploads(settling=scan.settling)
    if isinstance(dataset.source.partition_by, ColumnPartitioning):
        known = known_row_windows or {}
        unread = {file.name for file in scan.ready if f"{file.name}={signature(file)}" not in known}
        fed_now = windows_fed_now(paths, dataset, unread) if paths is not None and unread else {}
        for file in scan.ready:
            version = f"{file.name}={signature(file)}"
            try:
                keys = known[version] if version in known else sorted(set(_windows_of_landed(dataset, zone, file)) | fed_now.get(file.name, set()))
            except IngestError as exc:
                keys = []
                pending.skipped.append((file.name, str(exc)))
            # a file read once is not read again while it waits, even one that feeds no window
            pending.row_windows[version] = keys
            for key in keys:
                pending.windows.setdefault(key, []).append(file)
    else:
        by_window, unplaced = files_by_window(scan.ready, dataset.source, dataset.partitions)
        pending.windows.update(by_window)
        pending.skipped.extend((file.name, str(problem)) for file, problem in unplaced)
    return PendingUploads(dict(sorted(pending.windows.items())), pending.skipped, pending.settling, pending.row_windows)


def _windows_of_landed(dataset: DatasetConfig, zone: LandingZone, file: LandedFile) -> list[str]:
    """The windows a landed file's rows fall in, read from the file or, on S3, a copy of it."""
    with _local_copy(zone, file) as path:
        return windows_of_rows(dataset, path, file.name)


def windows_of_rows(dataset: DatasetConfig, path: Path, name: str) -> list[str]:
    """The windows the rows of the file at `path` (called `name`) fall in; only their keys are kept as it is read."""
    source = dataset.source
    assert isinstance(source.partition_by, ColumnPartitioning)
    allowed = WindowRange.of(dataset.partitions)
    keys: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="etl-assets-members-") as scratch:
        for member, read in source_members(path, name, source, Path(scratch)):
            for _, windows in windowed_batches(read, source.partition_by.column, member, dataset.partitions, allowed):
                keys.update(pc.unique(windows.keys).drop_null().to_pylist())
    if not keys:
        raise IngestError(
            f"No row of {name!r} belongs to a window of the dataset (partition_by: column); "
            "fix the dates or partitions.start (a file landed so is set aside in _failed/ by the next run)."
        )
    return sorted(keys)


@contextmanager
def _local_copy(zone: LandingZone, file: LandedFile) -> Iterator[Path]:
    """The landed file itself when it is local, else a temporary copy of it."""
    if file.path is not None:
        yield file.path
        return
    with tempfile.NamedTemporaryFile(prefix="etl-assets-landed-", suffix=Path(file.name).suffix) as handle:
        if zone.copy_out(file, handle) is None:
            raise IngestError(f"{file.name!r} changed while it was read for its windows; a later tick reads it again.")
        handle.flush()
        yield Path(handle.name)
