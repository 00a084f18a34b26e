"""Landing zones: where uploaded files wait until their window is ingested."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple, Protocol

from etl_assets.config.models import SourceConfig
from etl_assets.errors import IngestError

IN_PROGRESS_SUFFIXES = (".tmp", ".part")


@dataclass(frozen=True)
class LandedFile:
    """A file waiting in a landing zone."""

    path: Path
    name: str
    size: int
    arrived_at: datetime


@dataclass(frozen=True)
class LandingScan:
    """A landing zone's uploads in arrival order: `ready` ones are settled, `settling` ones may still be written."""

    ready: list[LandedFile]
    settling: list[LandedFile]


class IgnoredName(NamedTuple):
    """Why a landing zone never takes a file of some name, and what the user can do about it."""

    reason: str
    remedy: str


class LandingZone(Protocol):
    """Somewhere files land; local folders today, S3 prefixes later."""

    def scan(self, now: datetime | None = None) -> LandingScan: ...

    def list_files(self) -> list[LandedFile]: ...


class LocalLandingZone:
    """A local folder; files directly inside it that match `pattern` are uploads once unchanged for `settle_seconds`."""

    def __init__(self, root: Path, pattern: str, settle_seconds: float) -> None:
        self.root = root
        self.pattern = pattern
        self.settle_seconds = settle_seconds

    def scan(self, now: datetime | None = None) -> LandingScan:
        """Every upload, split by whether its last change (its mtime) is at least `settle_seconds` old."""
        settled_before = (now or datetime.now(UTC)) - timedelta(seconds=self.settle_seconds)
        files = self._uploads()
        return LandingScan(
            ready=[file for file in files if file.arrived_at <= settled_before],
            settling=[file for file in files if file.arrived_at > settled_before],
        )

    def list_files(self) -> list[LandedFile]:
        """Settled uploads in arrival order; hidden, partially written and still settling files are left alone."""
        return self.scan().ready

    def _uploads(self) -> list[LandedFile]:
        if not self.root.is_dir():
            return []
        files = []
        for entry in self.root.iterdir():
            if ignored_because(entry.name, self.pattern):
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except FileNotFoundError:
                continue  # taken by a concurrent ingest between listing and stat
            files.append(LandedFile(entry, entry.name, stat.st_size, arrival_time(stat.st_mtime)))
        return sorted(files, key=lambda file: (file.arrived_at, file.name))


def arrival_time(mtime: float) -> datetime:
    """A file's arrival time: its modification time, in UTC."""
    return datetime.fromtimestamp(mtime, UTC)


def ignored_because(name: str, pattern: str) -> IgnoredName | None:
    """Why a landing zone with this `pattern` never takes a file called `name`; None when it does take it."""
    if name.startswith("."):
        return IgnoredName("a name starting with a dot marks a hidden file", "rename it without the leading dot")
    if name.endswith(IN_PROGRESS_SUFFIXES):
        suffix = Path(name).suffix
        return IgnoredName(f"a name ending in {suffix} marks a file still being written", f"upload the complete file under its final name, without {suffix}")
    if not fnmatch.fnmatchcase(name, pattern):
        return IgnoredName(f"the dataset reads only names matching {pattern!r}", "rename it to match, or change source.pattern in etl_config.yaml")
    return None


def landing_zone_for(source: SourceConfig) -> LandingZone:
    """The landing zone a dataset's source points at."""
    if source.is_s3:
        raise IngestError(f"The S3 landing zone {source.path} is not supported yet; point source.path at a local folder.")
    return LocalLandingZone(Path(source.path), source.pattern, source.settle_seconds)
