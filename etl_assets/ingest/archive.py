"""The archive: every ingested file, kept by content hash under its window; nothing is ever deleted.

A window folder holds each distinct content once as `<sha256><ext>`, its first arrival in `<sha256>.meta.json`,
every later arrival of the same bytes in `arrivals/`, and the bytes of those later arrivals in `duplicates/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from etl_assets.files import free_path, sync_folder, write_atomically
from etl_assets.ingest.landing import LandedFile, LandingZone
from etl_assets.json_values import json_safe
from etl_assets.paths import window_slug

SIDECAR_SUFFIX = ".meta.json"
ARRIVALS_FOLDER = "arrivals"
DUPLICATES_FOLDER = "duplicates"
PARTIAL_PREFIX = ".incoming-"

ReadT = TypeVar("ReadT")


@dataclass(frozen=True)
class ArchivedFile:
    """A file kept in the archive, with where it came from."""

    path: Path
    original_name: str
    arrived_at: datetime
    size: int
    sha256: str


@dataclass(frozen=True)
class Arrival:
    """One landed file taken into a window: its name, arrival (mtime), size, content hash and when it was taken."""

    original_name: str
    arrived_at: datetime
    size: int
    sha256: str
    archived_at: datetime

    def same_landing(self, other: Arrival) -> bool:
        """The same landed file: a rerun meets it again when a run died before removing it from landing."""
        return (self.original_name, self.arrived_at, self.size, self.sha256) == (other.original_name, other.arrived_at, other.size, other.sha256)


@dataclass(frozen=True)
class ArchiveOutcome(Generic[ReadT]):
    """What archiving one landed file did; only `new` content is read, and a `changed` file stays in landing."""

    status: Literal["new", "duplicate", "changed"]
    file: ArchivedFile | None = None
    read: ReadT | None = None


@dataclass(frozen=True)
class _Copy:
    """A verified copy of a landed file, and the landing zone's identity of what was copied."""

    path: Path
    sha256: str
    landed: Any


def archive_file(
    file: LandedFile, zone: LandingZone, dataset_archive: Path, window_key: str, read: Callable[[Path], ReadT]
) -> ArchiveOutcome[ReadT]:
    """Copy `file` into its window's archive, `read` the copy if its bytes are new there, then take it out of landing.

    The caller holds the dataset's lock, so any half-made copy in the window folder is from a run that died.
    """
    window_folder = dataset_archive / window_slug(window_key)
    _discard_partial_copies(window_folder)
    copy = _copy_then_hash(file, zone, window_folder)
    if copy is None:
        return ArchiveOutcome("changed")
    try:
        arrival = Arrival(file.name, file.arrived_at, file.size, copy.sha256, datetime.now(UTC))
        stored = [first for first in _stored_first_arrivals(window_folder) if first.sha256 == arrival.sha256]
        if not stored:
            result = read(copy.path)
            return ArchiveOutcome("new", _keep_new(copy, arrival, file, zone, window_folder), result)
        if any(arrival.same_landing(known) for known in stored + _later_arrivals(window_folder)):
            _take_out_of_landing(file, zone, copy, window_folder)
            return ArchiveOutcome("duplicate", _archived(window_folder, stored[0]))
        return ArchiveOutcome("duplicate", _keep_duplicate(copy, arrival, file, zone, window_folder))
    finally:
        copy.path.unlink(missing_ok=True)


def archived_files(dataset_archive: Path, window_key: str) -> list[ArchivedFile]:
    """The window's upload, in arrival order: the newest version of each file name, identical bytes counted once."""
    window_folder = dataset_archive / window_slug(window_key)
    firsts = _stored_first_arrivals(window_folder)
    kept = {first.sha256: first for first in firsts}
    by_name: dict[str, list[Arrival]] = {}
    for arrival in sorted(firsts + _later_arrivals(window_folder), key=lambda arrival: arrival.archived_at):
        if arrival.sha256 in kept:
            by_name.setdefault(arrival.original_name, []).append(arrival)
    current: dict[str, ArchivedFile] = {}
    for name, versions in by_name.items():
        since = _current_version_since(versions)
        version = ArchivedFile(_content_path(window_folder, kept[since.sha256]), name, since.arrived_at, since.size, since.sha256)
        earlier = current.get(since.sha256)
        if earlier is None or (version.arrived_at, version.original_name) < (earlier.arrived_at, earlier.original_name):
            current[since.sha256] = version
    return sorted(current.values(), key=lambda file: (file.arrived_at, file.original_name))


def _current_version_since(versions: list[Arrival]) -> Arrival:
    """The arrival since which a name's newest content has been current, so the same bytes again change nothing."""
    since = versions[-1]
    for arrival in reversed(versions):
        if arrival.sha256 != since.sha256:
            break
        since = arrival
    return since


def _copy_then_hash(file: LandedFile, zone: LandingZone, window_folder: Path) -> _Copy | None:
    """A copy of the landed bytes beside the archive, hashed as it lies on disk; None when the file changed since
    it was listed or during the copy. The hash reads the copy back, so it vouches for exactly the bytes the archive keeps."""
    window_folder.mkdir(parents=True, exist_ok=True)
    temporary = window_folder / f"{PARTIAL_PREFIX}{uuid.uuid4().hex}"
    with temporary.open("xb") as target:
        copied = zone.copy_out(file, target)
        target.flush()
        os.fsync(target.fileno())
    if copied is None:
        temporary.unlink()
        return None
    return _Copy(temporary, _sha256(temporary), copied)


def _sha256(path: Path) -> str:
    with path.open("rb") as stored:
        return hashlib.file_digest(stored, "sha256").hexdigest()


def _keep_new(copy: _Copy, arrival: Arrival, file: LandedFile, zone: LandingZone, window_folder: Path) -> ArchivedFile:
    # Content before sidecar before landing: a run killed between any two steps leaves the file in landing to redo.
    record = _archived(window_folder, arrival)
    os.replace(copy.path, record.path)
    _write_record(arrival, window_folder / f"{arrival.sha256}{SIDECAR_SUFFIX}")
    _take_out_of_landing(file, zone, copy, window_folder)
    return record


def _keep_duplicate(copy: _Copy, arrival: Arrival, file: LandedFile, zone: LandingZone, window_folder: Path) -> ArchivedFile:
    # The record comes first: a rerun that finds it recognises the landed file and only removes it.
    arrivals = window_folder / ARRIVALS_FOLDER
    _write_record(arrival, free_path(arrivals / f"{arrival.archived_at:%Y%m%dT%H%M%S%fZ}-{arrival.sha256[:16]}.json"))
    target = free_path(window_folder / DUPLICATES_FOLDER / f"{arrival.arrived_at:%Y%m%dT%H%M%SZ}-{arrival.original_name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(copy.path, target)
    _take_out_of_landing(file, zone, copy, arrivals)
    return ArchivedFile(target, arrival.original_name, arrival.arrived_at, arrival.size, arrival.sha256)


def _take_out_of_landing(file: LandedFile, zone: LandingZone, copy: _Copy, recorded_in: Path) -> None:
    """Remove the landed file, unless a new file took its name meanwhile: that one waits for the next run."""
    # The archive's new entries are made durable first, so a power cut cannot lose both.
    sync_folder(recorded_in)
    zone.remove(file, copy.landed)


def _archived(window_folder: Path, arrival: Arrival) -> ArchivedFile:
    return ArchivedFile(_content_path(window_folder, arrival), arrival.original_name, arrival.arrived_at, arrival.size, arrival.sha256)


def _content_path(window_folder: Path, first: Arrival) -> Path:
    return window_folder / (first.sha256 + Path(first.original_name).suffix.lower())


def _discard_partial_copies(window_folder: Path) -> None:
    for partial in window_folder.glob(f"{PARTIAL_PREFIX}*"):
        partial.unlink(missing_ok=True)


def _stored_first_arrivals(window_folder: Path) -> list[Arrival]:
    """First arrivals whose content is in place (a sidecar alone is what an older, interrupted run left)."""
    firsts = [_read_record(sidecar) for sidecar in window_folder.glob(f"*{SIDECAR_SUFFIX}")]
    return [first for first in firsts if _content_path(window_folder, first).is_file()]


def _later_arrivals(window_folder: Path) -> list[Arrival]:
    return [_read_record(record) for record in (window_folder / ARRIVALS_FOLDER).glob("*.json")]


def _write_record(arrival: Arrival, path: Path) -> None:
    content = {field: json_safe(value) for field, value in asdict(arrival).items()}
    write_atomically(path, json.dumps(content, indent=2))


def _read_record(path: Path) -> Arrival:
    content = json.loads(path.read_text(encoding="utf-8"))
    return Arrival(
        original_name=content["original_name"],
        arrived_at=datetime.fromisoformat(content["arrived_at"]),
        size=content["size"],
        sha256=content["sha256"],
        # Records written before `archived_at` existed are ordered by their arrival.
        archived_at=datetime.fromisoformat(content.get("archived_at", content["arrived_at"])),
    )
