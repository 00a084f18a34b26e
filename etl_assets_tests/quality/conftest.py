"""Helpers for quality tests: small transformed windows written as real Parquet files with lineage columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import TypeAdapter

from etl_assets.config.models import QualityRule

ARRIVED = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)
RULES = TypeAdapter(list[QualityRule])


@pytest.fixture
def window(tmp_path: Path) -> Callable[..., Path]:
    """Write columns as one window's Parquet, adding `_source_file`, `_source_row` and `_arrived_at`."""

    def write(columns: dict[str, Any], name: str = "2026-03-01.parquet", source: str = "orders_0301.csv") -> Path:
        table = columns if isinstance(columns, pa.Table) else pa.table(columns)
        rows = table.num_rows
        table = (
            table.append_column("_source_file", pa.array([source] * rows, pa.string()))
            .append_column("_source_row", pa.array(range(2, rows + 2), pa.int64()))
            .append_column("_arrived_at", pa.array([ARRIVED] * rows, pa.timestamp("us", tz="UTC")))
        )
        path = tmp_path / name
        pq.write_table(table, path)
        return path

    return write


def rules(*raw: dict[str, Any]) -> list[QualityRule]:
    """Rules as the config loader would build them from YAML."""
    return RULES.validate_python(list(raw))
