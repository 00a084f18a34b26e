"""The etl_config.yaml the integration tests write: daily UTC windows into the local emulator's ANALYTICS.RAW."""

from __future__ import annotations

import textwrap
from pathlib import Path

PROLOGUE = """version: 1
defaults:
  partitions: {cadence: daily, start: "2026-01-01", timezone: UTC}
  warehouse: {connection: local, database: ANALYTICS, schema: RAW}
datasets:
"""


def write_project_config(path: Path, datasets: str) -> Path:
    """Write the shared defaults and `datasets` (YAML of any indent) under `datasets:`; return `path`."""
    path.write_text(PROLOGUE + textwrap.indent(textwrap.dedent(datasets).strip("\n"), "  ") + "\n", encoding="utf-8")
    return path
