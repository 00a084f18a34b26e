"""Run the real `etl-assets` and `dagster` commands in a subprocess, in a temporary ETL_ASSETS_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl_assets.warehouse.emulator import LocalEmulator

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass
class Cli:
    home: Path
    env: dict[str, str]

    def run(self, *args: str, command: str = "etl-assets", timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess:
        stdin = None if input is not None else subprocess.DEVNULL
        return subprocess.run(
            [str(BIN / command), *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout, stdin=stdin, input=input
        )


@pytest.fixture
def cli(tmp_path: Path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "DAGSTER_"))}
    env.update(
        ETL_ASSETS_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
        ETL_ASSETS_CONFIG=str(REPO / "etl_config.yaml"),
    )
    (home / "dagster").mkdir(parents=True)
    yield Cli(home=home, env=env)
    LocalEmulator(home / "warehouse").stop()
