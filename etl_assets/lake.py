"""Where each stage keeps a window's files under `lake/<dataset>/`, so stages hand data on by path."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from etl_assets.errors import ScriptError
from etl_assets.ingest.upload import upload_path
from etl_assets.paths import ProjectPaths, window_slug
from etl_assets.scriptgen.store import SavedScript


@dataclass(frozen=True)
class StagePaths:
    """The files of one dataset window, one per stage."""

    dataset: str
    window_key: str
    upload: Path
    profile: Path
    script_pointer: Path
    transformed: Path

    def write_script_pointer(self, script: SavedScript) -> None:
        """Record which saved script this window runs, so reruns use the same one."""
        self.script_pointer.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.script_pointer.with_suffix(".tmp")
        tmp.write_text(json.dumps({"path": str(script.path), "content_hash": script.content_hash}))
        os.replace(tmp, self.script_pointer)

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
    )
