"""The files a load PUTs: a window's (or a range's) rows, with the window, run and load-time columns."""

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
from etl_assets.excluded_rows import excluded_count, kept_relation, not_excluded
from etl_assets.sql_text import literal, parquet_by_position, position_aliases, quote_identifier
from etl_assets.warehouse.strategies import key_counts_sql

ADDED_COLUMNS = (WINDOW_START, WINDOW_END, RUN_ID, LOADED_AT)
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")
# DuckDB's own row group size; a part holds as many whole row groups as make ROWS_PER_PART
DUCKDB_ROW_GROUP_ROWS = 122_880
# several files let Snowflake's COPY load in parallel; it recommends 100-250 MB compressed per file
ROWS_PER_PART = 2_000_000
PART_PATTERN = "part-*.parquet"  # the part files of one load, alone in their folder


@dataclass(frozen=True)
class LoadFiles:
    """The part files of one load, their total rows and their common schema.

    `schema` keeps JSON columns typed as JSON (the table stores them as VARIANT) while the part files hold them as
    plain text; `json_columns` names them. `spans` gives each source's rows as [first, end) of STAGED_ROW, in the
    order the sources were given: one span for a window's own files, one per window for a range's. A source's
    excluded rows leave gaps in its span; `counts` gives the rows each source really has in the files.
    """

    parts: list[Path]
    rows: int
    schema: pa.Schema
    json_columns: frozenset[str] = field(default_factory=frozenset)
    spans: tuple[tuple[int, int], ...] = ()
    counts: tuple[int, ...] = ()


@dataclass(frozen=True)
class LoadSource:
    """A window's Parquet file, the window its rows belong to, and the positions of its rows left out (excluded_rows.py)."""

    path: Path
    window: tuple[dt.datetime, dt.datetime]
    excluded: Path | None = None


def write_load_files(
    source: Path,
    folder: Path,
    window: tuple[dt.datetime, dt.datetime],
    run_id: str,
    rows_per_part: int = ROWS_PER_PART,
    excluded: Path | None = None,
) -> LoadFiles:
    """Copy `source` but its `excluded` rows into `folder`/part-N.parquet, adding the load columns; DuckDB keeps the
    memory flat."""
    return write_range_files([LoadSource(source, window, excluded)], folder, run_id, rows_per_part)


def load_schema(source: Path) -> pa.Schema:
    """The schema of the load files written from `source`: its columns, lineage and the load columns.

    Windows whose sources give the same load schema can share one set of load files.
    """
    return _layout(pq.read_schema(source))[0]


def write_range_files(sources: Sequence[LoadSource], folder: Path, run_id: str, rows_per_part: int = ROWS_PER_PART) -> LoadFiles:
    """Copy every source into `folder`/part-N.parquet with its own window's columns, in one DuckDB COPY.

    The sources must share one load schema (see load_schema). A file without `_source_file` (a transform that
    dropped lineage) gets the source file's name there. STAGED_ROW numbers the rows across all the sources, in
    order: a source's rows start where the one before it ended, each at its place in its file. DuckDB reads and
    writes on every core within its memory limit; the rows may land in the parts in any order. A source's excluded
    rows (the quarantined ones) are left out as the files are written, so no stage writes the window without them.
    Raises StaleExcludedRows when a positions file was written for another version of its source.
    """
    schema, kept, json_columns, with_lineage = _layout(pq.read_schema(sources[0].path))
    loaded_at = dt.datetime.now(dt.UTC)
    selects: list[str] = []
    spans: list[tuple[int, int]] = []
    counts: list[int] = []
    rows = 0
    for source in sources:
        with pq.ParquetFile(source.path) as parquet:  # its footer, read once for the schema and the row count
            arrow_schema, size = parquet.schema_arrow, parquet.metadata.num_rows
        if _layout(arrow_schema)[0] != schema:
            raise ValueError(f"{source.path.name} does not share the load schema of {sources[0].path.name}")
        spans.append((rows, rows + size))
        counts.append(size - excluded_count(source.path, source.excluded))
        if counts[-1]:
            selects.append(_select_source(source, arrow_schema.names, kept, json_columns, with_lineage, run_id, loaded_at, rows))
        rows += size
    if selects:
        group_rows = min(DUCKDB_ROW_GROUP_ROWS, rows_per_part)
        with local_duckdb.connect() as local:
            local.execute(
                f"COPY ({' UNION ALL '.join(selects)}) TO {literal(str(folder))} (FORMAT parquet, "
                f"ROW_GROUP_SIZE {group_rows}, ROW_GROUPS_PER_FILE {-(-rows_per_part // group_rows)}, "
                f"FILENAME_PATTERN 'part-{{i}}', OVERWRITE_OR_IGNORE)"
            )
    parts = sorted(folder.glob(PART_PATTERN), key=lambda path: int(path.stem.split("-")[1]))
    return LoadFiles(parts=parts, rows=sum(counts), schema=schema, json_columns=json_columns, spans=tuple(spans), counts=tuple(counts))


def _select_source(
    source: LoadSource,
    names: list[str],
    kept: list[pa.Field],
    json_columns: frozenset[str],
    with_lineage: bool,
    run_id: str,
    loaded_at: dt.datetime,
    first_row: int,
) -> str:
    """The SELECT of one source's rows as the load files hold them, its window's columns added.

    The file's columns (`names`, in file order) are read under the aliases c0, c1, ...: a column of its own named
    `file_row_number` would otherwise stand in for DuckDB's row number, and number the rows wrong.
    """
    aliases = dict(zip(names, position_aliases(len(names)), strict=True))
    # Snowflake has no JSON logical type for Parquet: the text is staged as VARCHAR and parsed into VARIANT
    values = [
        f"CAST({aliases[f.name]} AS VARCHAR) AS {quote_identifier(f.name)}" if f.name in json_columns
        else f"{aliases[f.name]} AS {quote_identifier(f.name)}"
        for f in kept
    ]  # fmt: skip
    added = [
        *([(literal(source.path.name), SOURCE_FILE)] if with_lineage else []),
        (literal(source.window[0]), WINDOW_START),
        (literal(source.window[1]), WINDOW_END),
        (literal(run_id), RUN_ID),
        (literal(loaded_at), LOADED_AT),
        (f"{first_row} + file_row_number", STAGED_ROW),
    ]
    values += [f"{value} AS {quote_identifier(name)}" for value, name in added]
    return f"SELECT {', '.join(values)} FROM {parquet_by_position(source.path, 'source', len(names))} WHERE {not_excluded(source.excluded)}"


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


def source_key_facts(source: Path, excluded: Path | None, keys: Sequence[str]) -> tuple[int, int]:
    """The rows to load (all of `source` but its `excluded` rows) with a NULL key, and their distinct keys, counted
    here rather than in the warehouse."""
    with local_duckdb.connect() as local:
        nulls, groups = local.execute(key_counts_sql(keys_in_file(keys), kept_relation(source, excluded))).fetchone()
    return int(nulls), int(groups)


def keys_in_file(keys: Sequence[str]) -> list[str]:
    """The keys a window's own file holds: the window columns the load adds are one value per window, and split
    no group of it."""
    return [key for key in keys if key not in (WINDOW_START, WINDOW_END)]


def content_fingerprint(source: Path, excluded: Path | None = None) -> str:
    """The row count and an order-free sum of row hashes of the rows to load (all but `excluded`): the same rows
    give the same value however they are stored."""
    names = [f.name for f in pq.read_schema(source) if f.name not in (*ADDED_COLUMNS, STAGED_ROW)]
    if not names:
        return "0:0"
    hashed = ", ".join(quote_identifier(name) for name in names)
    with local_duckdb.connect() as local:
        rows, total = local.execute(f"SELECT count(*), sum(hash({hashed})::HUGEINT) FROM {kept_relation(source, excluded)}").fetchone()
    return f"{rows}:{total or 0}"
