"""Small builders shared by the ingest tests."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from etl_assets.config.models import DatasetConfig


def land(folder: Path, name: str, content: bytes | str, arrived_at: datetime) -> Path:
    """Write a file into a landing folder with the given arrival time as its mtime."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.utime(path, (arrived_at.timestamp(), arrived_at.timestamp()))
    return path


def dataset(landing: Path, **source: object) -> DatasetConfig:
    """A daily UTC dataset reading from `landing`."""
    return DatasetConfig.model_validate(
        {
            "name": "orders",
            "source": {"path": str(landing), "pattern": "*", **source},
            "partitions": {"cadence": "daily", "start": "2026-01-01", "timezone": "UTC"},
            "load": {"table": "ORDERS"},
        }
    )
