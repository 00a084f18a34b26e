"""The files a load PUTs: a window's (or a range's) rows batch by batch, with the window, run and load-time columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets import local_duckdb
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
    plain text; `json_columns` names them. `spans` gives each source's rows as [first, end) of STAGED_ROW, in the
    order the sources were given: one span for a window's own files, one per window for a range's.
    """

    parts: list[Path]
    rows: int
    schema: pa.Schema
    json_columns: frozenset[str] = field(default_factory=frozenset)
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class LoadSource:
    """A window's Parquet file and the window its rows belong to."""

    path: Path
    window: tuple[dt.datetime, dt.datetime]


def write_load_files(
    source: Path,
    folder: Path,
    window: tuple[dt.datetime, dt.datetime],
    run_id: str,
    rows_per_part: int = ROWS_PER_PART,
) -> LoadFiles:
    """Copy `source` batch by batch into `folder`/part-NNNNN.parquet, adding the load columns; memory stays flat."""
    return write_range_files([LoadSource(source, window)], folder, run_id, rows_per_part)


def load_schema(source: Path) -> pa.Schema:
    """The schema of the load files written from `source`: its columns, lineage and the load columns.

    Windows whose sources give the same load schema can share one set of load files.
    """
    return _layout(pq.read_schema(source))[0]


def write_range_files(sources: Sequence[LoadSource], folder: Path, run_id: str, rows_per_part: int = ROWS_PER_PART) -> LoadFiles:
    """Copy every source, in order, batch by batch into `folder`/part-NNNNN.parquet with its own window's columns.

    The sources must share one load schema (see load_schema). A file without `_source_file` (a transform that
    dropped lineage) gets the source file's name there. STAGED_ROW numbers the rows across all the sources.
    """
    schema, kept, json_columns, with_lineage = _layout(pq.read_schema(sources[0].path))
    # Snowflake has no JSON logical type for Parquet: the text is staged as VARCHAR and parsed into VARIANT
    file_schema = pa.schema([pa.field(f.name, pa.string()) if f.name in json_columns else f for f in schema])
    loaded_at = pa.scalar(dt.datetime.now(dt.UTC), UTC_TIMESTAMP)
    parts: list[Path] = []
    spans: list[tuple[int, int]] = []
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for source in sources:
            if load_schema(source.path) != schema:
                raise ValueError(f"{source.path.name} does not share the load schema of {sources[0].path.name}")
            constants = [
                *([pa.scalar(source.path.name, pa.string())] if with_lineage else []),
                pa.scalar(source.window[0], UTC_TIMESTAMP),
                pa.scalar(source.window[1], UTC_TIMESTAMP),
                pa.scalar(run_id, pa.string()),
                loaded_at,
            ]
            first = rows
            # pre_buffer off: with it, pyarrow keeps read-ahead buffers that grow with the file (300 MB at 10M rows)
            parquet = pq.ParquetFile(source.path, pre_buffer=False)
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
            spans.append((first, rows))
    finally:
        if writer is not None:
            writer.close()
    return LoadFiles(parts=parts, rows=rows, schema=schema, json_columns=json_columns, spans=tuple(spans))


def _layout(source_schema: pa.Schema) -> tuple[pa.Schema, list[pa.Field], frozenset[str], bool]:
    """The load schema, the source columns kept, the JSON ones among them, and whether lineage is added."""
    kept = [f for f in source_schema if f.name not in (*ADDED_COLUMNS, STAGED_ROW)]
    with_lineage = SOURCE_FILE not in source_schema.names
    json_columns = frozenset(f.name for f in kept if is_json(f.type))
    schema = pa.schema(
        [
            *kept,
            *([pa.field(SOURCE_FILE, pa.string())] if with_lineage else []),
            pa.field(WINDOW_START, UTC_TIMESTAMP),
            pa.field(WINDOW_END, UTC_TIMESTAMP),
            pa.field(RUN_ID, pa.string()),
            pa.field(LOADED_AT, UTC_TIMESTAMP),
            pa.field(STAGED_ROW, pa.int64()),
        ]
    )
    return schema, kept, json_columns, with_lineage


def content_fingerprint(source: Path) -> str:
    """The row count and an order-free sum of row hashes: the same rows give the same value however they are stored."""
    names = [f.name for f in pq.read_schema(source) if f.name not in (*ADDED_COLUMNS, STAGED_ROW)]
    if not names:
        return "0:0"
    hashed = ", ".join(quote_identifier(name) for name in names)
    with local_duckdb.connect() as local:
        rows, total = local.execute(
            f"SELECT count(*), sum(hash({hashed})::HUGEINT) FROM read_parquet(?)", [str(source)]
        ).fetchone()
    return f"{rows}:{total or 0}"
