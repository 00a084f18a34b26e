"""Landing zones: where uploaded files wait until their window is ingested."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from etl_assets.config.models import SourceConfig
from etl_assets.errors import IngestError

IN_PROGRESS_PATTERNS = (".*", "*.tmp", "*.part")


@dataclass(frozen=True)
class LandedFile:
    """A file waiting in a landing zone."""

    path: Path
    name: str
    size: int
    arrived_at: datetime


class LandingZone(Protocol):
    """Somewhere files land; local folders today, S3 prefixes later."""

    def list_files(self) -> list[LandedFile]: ...


class LocalLandingZone:
    """A local folder; files directly inside it that match `pattern` are uploads."""

    def __init__(self, root: Path, pattern: str) -> None:
        self.root = root
        self.pattern = pattern

    def list_files(self) -> list[LandedFile]:
        """Complete uploads in arrival order; hidden and partially written files are left alone."""
        if not self.root.is_dir():
            return []
        files = []
        for entry in self.root.iterdir():
            if not fnmatch.fnmatchcase(entry.name, self.pattern) or _in_progress(entry.name):
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except FileNotFoundError:
                continue  # taken by a concurrent ingest between listing and stat
            arrived_at = datetime.fromtimestamp(stat.st_mtime, UTC)
            files.append(LandedFile(entry, entry.relative_to(self.root).as_posix(), stat.st_size, arrived_at))
        return sorted(files, key=lambda file: (file.arrived_at, file.name))


def landing_zone_for(source: SourceConfig) -> LandingZone:
    """The landing zone a dataset's source points at."""
    if source.is_s3:
        raise IngestError(f"The S3 landing zone {source.path} is not supported yet; point source.path at a local folder.")
    return LocalLandingZone(Path(source.path), source.pattern)


def _in_progress(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in IN_PROGRESS_PATTERNS)
