"""The archive: every ingested file, kept by content hash under its window; nothing is ever deleted."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from etl_assets.ingest.landing import LandedFile
from etl_assets.paths import window_slug

SIDECAR_SUFFIX = ".meta.json"
DUPLICATES_FOLDER = "duplicates"


@dataclass(frozen=True)
class ArchivedFile:
    """A file kept in the archive, with where it came from."""

    path: Path
    original_name: str
    arrived_at: datetime
    size: int
    sha256: str


@dataclass(frozen=True)
class ArchiveOutcome:
    """Where an archived file went; `duplicate` files repeat bytes already archived and are not read again."""

    file: ArchivedFile
    duplicate: bool


def archive_file(file: LandedFile, dataset_archive: Path, window_key: str) -> ArchiveOutcome:
    """Move `file` out of landing into `<dataset_archive>/<window>/`, or into its `duplicates/` folder."""
    sha256 = _sha256(file.path)
    window_folder = dataset_archive / window_slug(window_key)
    if _already_archived(dataset_archive, sha256):
        target = _free_path(window_folder / DUPLICATES_FOLDER / f"{file.arrived_at:%Y%m%dT%H%M%SZ}-{file.name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(file.path, target)
        return ArchiveOutcome(ArchivedFile(target, file.name, file.arrived_at, file.size, sha256), duplicate=True)
    record = ArchivedFile(window_folder / _stored_name(sha256, file.name), file.name, file.arrived_at, file.size, sha256)
    # The sidecar goes first: a crash before the move leaves the file in landing, and the next run completes it.
    _write_sidecar(record)
    shutil.move(file.path, record.path)
    return ArchiveOutcome(record, duplicate=False)


def archived_files(dataset_archive: Path, window_key: str) -> list[ArchivedFile]:
    """The files archived for a window (duplicates excluded), in arrival order."""
    window_folder = dataset_archive / window_slug(window_key)
    records = [_read_sidecar(sidecar) for sidecar in window_folder.glob(f"*{SIDECAR_SUFFIX}")]
    present = [record for record in records if record.path.is_file()]
    return sorted(present, key=lambda record: (record.arrived_at, record.original_name))


def _already_archived(dataset_archive: Path, sha256: str) -> bool:
    return any(_read_sidecar(sidecar).path.is_file() for sidecar in dataset_archive.glob(f"*/{sha256}{SIDECAR_SUFFIX}"))


def _stored_name(sha256: str, original_name: str) -> str:
    return sha256 + Path(original_name).suffix.lower()


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _free_path(path: Path) -> Path:
    candidate, counter = path, 2
    while candidate.exists():
        candidate, counter = path.with_name(f"{path.stem}-{counter}{path.suffix}"), counter + 1
    return candidate


def _write_sidecar(record: ArchivedFile) -> None:
    sidecar = record.path.parent / f"{record.sha256}{SIDECAR_SUFFIX}"
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    content = {
        "original_name": record.original_name,
        "arrived_at": record.arrived_at.isoformat(),
        "size": record.size,
        "sha256": record.sha256,
    }
    temporary = sidecar.with_name(f".{sidecar.name}.tmp")
    temporary.write_text(json.dumps(content, indent=2), encoding="utf-8")
    os.replace(temporary, sidecar)


def _read_sidecar(sidecar: Path) -> ArchivedFile:
    content = json.loads(sidecar.read_text(encoding="utf-8"))
    return ArchivedFile(
        path=sidecar.parent / _stored_name(content["sha256"], content["original_name"]),
        original_name=content["original_name"],
        arrived_at=datetime.fromisoformat(content["arrived_at"]),
        size=content["size"],
        sha256=content["sha256"],
    )
