"""Where each stage keeps a window's files under `lake/<dataset>/`, so stages hand data on by path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from etl_assets.errors import ScriptError
from etl_assets.files import write_atomically
from etl_assets.ingest.upload import upload_path
from etl_assets.paths import ProjectPaths, window_slug
from etl_assets.scriptgen.store import SavedScript


@dataclass(frozen=True)
class QualityVerdict:
    """What the quality rules decided for a window: whether it may load, and from which file."""

    blocked_by: tuple[str, ...]
    load_path: Path
    quarantine_path: Path | None = None
    quarantined_rows: int = 0
    score: float = 1.0
    # the positions of the quarantined rows in load_path, which the load leaves out (excluded_rows.py)
    excluded_rows: Path | None = None

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_by)


@dataclass(frozen=True)
class StagePaths:
    """The files of one dataset window, one per stage."""

    dataset: str
    window_key: str
    upload: Path
    profile: Path
    script_pointer: Path
    transformed: Path
    report: Path
    verdict: Path
    kept: Path
    quarantine: Path
    excluded: Path

    def write_verdict(self, verdict: QualityVerdict) -> None:
        data = {
            "blocked_by": list(verdict.blocked_by),
            "load_path": str(verdict.load_path),
            "quarantine_path": str(verdict.quarantine_path) if verdict.quarantine_path else None,
            "quarantined_rows": verdict.quarantined_rows,
            "score": verdict.score,
            "excluded_rows": str(verdict.excluded_rows) if verdict.excluded_rows else None,
        }
        write_atomically(self.verdict, json.dumps(data))

    def read_verdict(self) -> QualityVerdict:
        """The window's verdict; a window transformed before its rules existed loads its transformed rows."""
        if not self.verdict.exists():
            return QualityVerdict(blocked_by=(), load_path=self.transformed)
        data = json.loads(self.verdict.read_text())
        quarantine, excluded = data["quarantine_path"], data.get("excluded_rows")
        return QualityVerdict(
            blocked_by=tuple(data["blocked_by"]),
            load_path=Path(data["load_path"]),
            quarantine_path=Path(quarantine) if quarantine else None,
            quarantined_rows=data["quarantined_rows"],
            score=data["score"],
            excluded_rows=Path(excluded) if excluded else None,
        )

    def write_script_pointer(self, script: SavedScript) -> None:
        """Record which saved script this window runs, so reruns use the same one."""
        write_atomically(self.script_pointer, json.dumps({"path": str(script.path), "content_hash": script.content_hash}))

    def read_script_pointer(self) -> Path:
        try:
            path = Path(json.loads(self.script_pointer.read_text())["path"])
        except FileNotFoundError:
            raise ScriptError(
                f"Dataset '{self.dataset}' window {self.window_key} has no generated script yet; "
                f"materialize scripts/{self.dataset} for that window first."
            ) from None
        if not path.exists():
            raise ScriptError(f"The script {path} for dataset '{self.dataset}' is gone; materialize scripts/{self.dataset} again.")
        return path


def stage_paths(paths: ProjectPaths, dataset: str, window_key: str) -> StagePaths:
    slug = window_slug(window_key)
    root = paths.dataset_lake(dataset)
    return StagePaths(
        dataset=dataset,
        window_key=window_key,
        upload=upload_path(paths, dataset, window_key),
        profile=root / "profiles" / f"{slug}.json",
        script_pointer=root / "scripts" / f"{slug}.json",
        transformed=root / "transformed" / f"{slug}.parquet",
        report=root / "profile" / f"{slug}.html",
        verdict=root / "quality" / f"{slug}.json",
        kept=root / "loadable" / f"{slug}.parquet",
        quarantine=root / "quarantine" / f"{slug}.parquet",
        excluded=root / "quarantine" / f"{slug}.rows.parquet",
    )

