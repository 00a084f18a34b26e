"""Builders shared by the scriptgen tests: upload-shaped Parquet files and a real script run."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.config.models import DatasetConfig

ORDERS_SOURCE_TYPES = {
    "Order ID": "integer",
    "Email": "string",
    "Order Date": "date",
    "Gross Amount": "decimal(12,2)",
    "Discount": "decimal(12,2)",
    "Status": "string",
}

ORDERS_TRANSFORM = {
    "generator": "template",
    "requirements": "Lower-case emails; net = gross - discount",
    "columns": {
        "order_id": {"from": "Order ID", "type": "integer"},
        "email": {"from": "Email", "type": "string", "apply": ["trim", "lower"]},
        "order_date": {"from": "order_date", "type": "date"},
        "gross_amount": {"from": "Gross Amount", "type": "decimal(12,2)"},
        "discount": {"type": "decimal(12,2)"},
        "net_amount": {"expr": "gross_amount - discount", "type": "decimal(12,2)"},
        "status": {"from": "Status", "apply": ["trim", "upper"]},
    },
    "deduplicate_on": ["order_id"],
}


def orders_dataset(transform: dict | None = ORDERS_TRANSFORM, name: str = "orders") -> DatasetConfig:
    """An orders-like dataset config, as the loader would build it."""
    return DatasetConfig.model_validate(
        {"name": name, "source": {"path": "/landing/orders"}, "transform": transform, "load": {"table": "ORDERS"}}
    )


def arrival(hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, 20, hour, tzinfo=dt.UTC)


def write_upload(path: Path, rows: list[dict], string_columns: list[str]) -> Path:
    """An upload Parquet as the upload stage writes it: string source columns plus lineage columns."""
    fields = [pa.field(name, pa.string()) for name in string_columns] + [
        pa.field("_source_file", pa.string()),
        pa.field("_source_row", pa.int64()),
        pa.field("_arrived_at", pa.timestamp("us", tz="UTC")),
    ]
    schema = pa.schema(fields)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def run_script(script: Path, input_path: Path, output_path: Path) -> subprocess.CompletedProcess:
    """Run a generated script the way the transform stage does, in a real subprocess."""
    return run_script_with(script, ["--input", str(input_path), "--output", str(output_path)])


def run_script_with(script: Path, arguments: list[str]) -> subprocess.CompletedProcess:
    """Run a generated script with these arguments in a real subprocess."""
    return subprocess.run(
        [sys.executable, str(script), *arguments], capture_output=True, text=True, timeout=120, check=False
    )


def run_ok(script: Path, input_path: Path, output_path: Path) -> tuple[dict, pa.Table]:
    """Run a script that must succeed; its printed counts and its output table."""
    completed = run_script(script, input_path, output_path)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout), pq.read_table(output_path)


def save_code(folder: Path, code: str, name: str = "script.py") -> Path:
    """Write rendered code to a file, as the store would, and return its path."""
    path = folder / name
    path.write_text(code, encoding="utf-8")
    return path
