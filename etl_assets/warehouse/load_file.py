"""The files a load PUTs: the window's rows batch by batch, with the window, run and load-time columns added."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.column_types import is_json
from etl_assets.config.columns import LOADED_AT, RUN_ID, SOURCE_FILE, STAGED_ROW, WINDOW_END, WINDOW_START
from etl_assets.sql_text import quote_identifier

ADDED_COLUMNS = (WINDOW_START, WINDOW_END, RUN_ID, LOADED_AT)
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")
BATCH_ROWS = 65_536
# several files let Snowflake's COPY load in parallel; it recommends 100-250 MB compressed per file
ROWS_PER_PART = 2_000_000


@dataclass(frozen=True)
class LoadFiles:
    """The part files of one load, their total rows and their common schema.

    `schema` keeps JSON columns typed as JSON (the table stores them as VARIANT) while the part files hold them as
    plain text; `json_columns` names them.
    """

    parts: list[Path]
    rows: int
    schema: pa.Schema
    json_columns: frozenset[str] = field(default_factory=frozenset)


def write_load_files(
    source: Path,
    folder: Path,
    window: tuple[dt.datetime, dt.datetime],
    run_id: str,
    rows_per_part: int = ROWS_PER_PART,
) -> LoadFiles:
    """Copy `source` batch by batch into `folder`/part-NNNNN.parquet, adding the load columns; memory stays flat.

    A file without `_source_file` (a transform that dropped lineage) gets the source file's name there.
    """
    # pre_buffer off: with it, pyarrow keeps read-ahead buffers that grow with the file (measured: 300 MB at 10M rows)
    parquet = pq.ParquetFile(source, pre_buffer=False)
    kept = [f for f in parquet.schema_arrow if f.name not in (*ADDED_COLUMNS, STAGED_ROW)]
    lineage = [] if SOURCE_FILE in parquet.schema_arrow.names else [pa.field(SOURCE_FILE, pa.string())]
    json_columns = frozenset(f.name for f in kept if is_json(f.type))
    schema = pa.schema(
        [
            *kept,
            *lineage,
            pa.field(WINDOW_START, UTC_TIMESTAMP),
            pa.field(WINDOW_END, UTC_TIMESTAMP),
            pa.field(RUN_ID, pa.string()),
            pa.field(LOADED_AT, UTC_TIMESTAMP),
            pa.field(STAGED_ROW, pa.int64()),
        ]
    )
    constants = [
        *([pa.scalar(source.name, pa.string())] if lineage else []),
        pa.scalar(window[0], UTC_TIMESTAMP),
        pa.scalar(window[1], UTC_TIMESTAMP),
        pa.scalar(run_id, pa.string()),
        pa.scalar(dt.datetime.now(dt.UTC), UTC_TIMESTAMP),
    ]
    # Snowflake has no JSON logical type for Parquet: the text is staged as VARCHAR and parsed into VARIANT
    file_schema = pa.schema([pa.field(f.name, pa.string()) if f.name in json_columns else f for f in schema])
    parts: list[Path] = []
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[f.name for f in kept]):
            if writer is None or rows >= len(parts) * rows_per_part:
                if writer is not None:
                    writer.close()
                parts.append(folder / f"part-{len(parts):05d}.parquet")
                writer = pq.ParquetWriter(parts[-1], file_schema)
            size = batch.num_rows
            values = [c.storage if isinstance(c, pa.ExtensionArray) else c for c in batch.columns]
            added = [pa.repeat(value, size) for value in constants]
            positions = pa.array(range(rows, rows + size), pa.int64())
            writer.write_batch(pa.RecordBatch.from_arrays([*values, *added, positions], schema=file_schema))
            rows += size
    finally:
        if writer is not None:
            writer.close()
    return LoadFiles(parts=parts, rows=rows, schema=schema, json_columns=json_columns)


def content_fingerprint(source: Path) -> str:
    """The row count and an order-free sum of row hashes: the same rows give the same value however they are stored."""
    names = [f.name for f in pq.read_schema(source) if f.name not in (*ADDED_COLUMNS, STAGED_ROW)]
    if not names:
        return "0:0"
    hashed = ", ".join(quote_identifier(name) for name in names)
    with duckdb.connect() as local:
        rows, total = local.execute(
            f"SELECT count(*), sum(hash({hashed})::HUGEINT) FROM read_parquet(?)", [str(source)]
        ).fetchone()
    return f"{rows}:{total or 0}"
