"""Turn each stage's results into Dagster metadata: row counts, schemas and Markdown previews."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.ingest.upload import UploadResult
from etl_assets.profiling.profiler import Profile
from etl_assets.scriptgen.store import SavedScript
from etl_assets.warehouse.keys import KeyChoice
from etl_assets.warehouse.loader import LoadResult

PREVIEW_ROWS = 10


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def table_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(field.name, str(field.type)) for field in schema])


def parquet_preview(path: Path) -> str:
    """The first rows of a Parquet file as Markdown, read without loading the whole file."""
    parquet = pq.ParquetFile(path)
    batch = next(parquet.iter_batches(batch_size=PREVIEW_ROWS), None)
    rows = batch.to_pylist() if batch is not None else []
    header = parquet.schema_arrow.names
    return markdown_table(header, [[row[name] for name in header] for row in rows])


def upload_metadata(results: Sequence[UploadResult]) -> dict[str, Any]:
    rows = [(r.window_key, r.row_count, len(r.files), r.new_files, r.duplicate_files, r.reject_count) for r in results]
    last = results[-1]
    return {
        "dagster/row_count": sum(r.row_count for r in results),
        "dagster/column_schema": table_schema(pq.read_schema(last.output_path)),
        "windows": md_value(markdown_table(["window", "rows", "files", "new", "duplicate", "rejected"], rows)),
        "files": sum(len(r.files) for r in results),
        "rejected_rows": sum(r.reject_count for r in results),
        "path": dg.MetadataValue.path(str(last.output_path)),
        "preview": md_value(parquet_preview(last.output_path)),
    }


def profile_metadata(profiles: Mapping[str, Profile]) -> dict[str, Any]:
    last_key = list(profiles)[-1]
    last = profiles[last_key]
    return {
        "dagster/row_count": sum(p.row_count for p in profiles.values()),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c.name, c.inferred_type, description=f"stored as {c.physical_type}") for c in last.columns]
        ),
        "profile": md_value(f"Window {last_key}, {last.row_count} rows\n\n{last.to_markdown()}"),
        "windows": md_value(markdown_table(["window", "rows", "columns"], [(k, p.row_count, len(p.columns)) for k, p in profiles.items()])),
    }


def script_metadata(scripts: Mapping[str, SavedScript]) -> dict[str, Any]:
    last = list(scripts.values())[-1]
    rows = [(key, s.content_hash, s.generator, "reused" if s.reused else "new") for key, s in scripts.items()]
    metadata: dict[str, Any] = {
        "content_hash": last.content_hash,
        "generator": last.generator,
        "reused": last.reused,
        "path": dg.MetadataValue.path(str(last.path)),
        "code": md_value(f"```python\n{Path(last.path).read_text()}\n```"),
        "windows": md_value(markdown_table(["window", "script", "generator", "status"], rows)),
    }
    if last.fallback_reason:
        metadata["fallback_reason"] = last.fallback_reason
    return metadata


def last_row_counts(messages: Sequence[Any]) -> dict[str, int]:
    """The row counts a script reported through Pipes (its last report wins)."""
    counts = [m for m in messages if isinstance(m, dict) and "rows_out" in m]
    if not counts:
        raise dg.Failure("The ETL script finished without reporting its row counts through Dagster Pipes.")
    return {name: int(value) for name, value in counts[-1].items()}


def transform_metadata(counts: Mapping[str, Mapping[str, int]], last_output: Path) -> dict[str, Any]:
    rows = [(key, c.get("rows_in"), c.get("rows_out"), c.get("rows_deduplicated", 0)) for key, c in counts.items()]
    return {
        "dagster/row_count": sum(c["rows_out"] for c in counts.values()),
        "dagster/column_schema": table_schema(pq.read_schema(last_output)),
        "rows_in": sum(c.get("rows_in", 0) for c in counts.values()),
        "windows": md_value(markdown_table(["window", "rows in", "rows out", "deduplicated"], rows)),
        "preview": md_value(parquet_preview(last_output)),
    }


def load_metadata(
    results: Mapping[str, LoadResult], target: str, choices: Mapping[str, KeyChoice], columns: Mapping[str, str]
) -> dict[str, Any]:
    rows = [
        (key, choices[key].strategy, ", ".join(choices[key].keys) or "(none)", r.rows_staged, r.rows_inserted, r.rows_updated, r.rows_deleted, r.rows_in_window)
        for key, r in results.items()
    ]
    last = choices[list(choices)[-1]]
    return {
        "dagster/row_count": sum(r.rows_in_window for r in results.values()),
        "dagster/table_name": target,
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in columns.items()]),
        "strategy": last.strategy,
        "keys": ", ".join(last.keys) or "(none)",
        "keys_reason": last.reason,
        "rows_inserted": sum(r.rows_inserted for r in results.values()),
        "rows_updated": sum(r.rows_updated for r in results.values()),
        "rows_deleted": sum(r.rows_deleted for r in results.values()),
        "windows": md_value(
            markdown_table(["window", "strategy", "keys", "staged", "inserted", "updated", "deleted", "rows in window"], rows)
        ),
    }


def md_value(text: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(text)
