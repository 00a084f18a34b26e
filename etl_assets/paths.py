"""Where runtime state lives: everything under one root, ETL_ASSETS_HOME (default `.etl_assets/`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV_VAR = "ETL_ASSETS_HOME"


@dataclass(frozen=True)
class ProjectPaths:
    """The folders under ETL_ASSETS_HOME; nothing is written outside them."""

    home: Path

    @classmethod
    def from_env(cls) -> ProjectPaths:
        return cls(Path(os.environ.get(HOME_ENV_VAR) or ".etl_assets").resolve())

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def generated_scripts(self) -> Path:
        return self.home / "generated_scripts"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    def dataset_lake(self, dataset: str) -> Path:
        return self.lake / dataset


def window_slug(partition_key: str) -> str:
    """A partition key as a file-name-safe folder name (hourly keys carry a colon)."""
    return partition_key.replace(":", "")
