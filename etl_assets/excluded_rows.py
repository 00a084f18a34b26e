"""Rows of a window's Parquet file that are not to be loaded (the quarantined ones), named by their positions.

The quality rules take rows out of a window by listing them here instead of writing the window again without
them; the load reads the file minus these rows while it writes its own files. The positions file holds one
column, `_row` (0-based positions in the file, ascending), and in its schema metadata the identity of the file it
was written for: a file replaced or rewritten since (a rerun of its transform that stopped half way) no longer
matches, and reading the pair fails rather than taking out the wrong rows (docs/architecture.md §3).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.files import atomic_path
from etl_assets.sql_text import literal, parquet_by_position, position_aliases, quote_identifier

ROW = "_row"
IDENTITY_KEY = b"etl_assets.excluded_from"


class StaleExcludedRows(Exception):
    """The positions file was written for another version of the file it names rows of."""


def write_excluded(of: Path, rows: pa.Array, path: Path) -> None:
    """Write the ascending positions `rows` of file `of` to `path`, atomically, with `of`'s identity."""
    schema = pa.schema([pa.field(ROW, pa.int64())], metadata={IDENTITY_KEY: json.dumps(_identity(of)).encode()})
    with atomic_path(path) as temporary:
        pq.write_table(pa.table([rows.cast(pa.int64())], schema=schema), temporary)


def excluded_count(of: Path, excluded: Path | None) -> int:
    """How many rows of `of` the positions file leaves out, once it is known to be written for this `of`."""
    if excluded is None:
        return 0
    with pq.ParquetFile(excluded) as positions:
        written_for = json.loads((positions.schema_arrow.metadata or {}).get(IDENTITY_KEY, b"null"))
        if written_for != _identity(of):
            raise StaleExcludedRows(
                f"{excluded.name} lists rows of an earlier version of {of.name}; rerun the transform that wrote them"
            )
        return positions.metadata.num_rows


def kept_count(of: Path, excluded: Path | None) -> int:
    """The rows of `of` that are to be loaded."""
    with pq.ParquetFile(of) as parquet:
        rows = parquet.metadata.num_rows
    return rows - excluded_count(of, excluded)


def not_excluded(excluded: Path | None) -> str:
    """A SQL condition on DuckDB's `file_row_number` that keeps the rows the positions file does not list.

    Its query must read the file's columns under aliases: a column of the file named `file_row_number` would
    otherwise stand in for the row's position."""
    if excluded is None:
        return "true"
    return f"file_row_number NOT IN (SELECT {ROW} FROM read_parquet({literal(str(excluded))}))"


def kept_relation(of: Path, excluded: Path | None) -> str:
    """A DuckDB relation of the rows of `of` to load, under the file's own column names (checked with excluded_count)."""
    if excluded is None:
        return f"read_parquet({literal(str(of))})"
    excluded_count(of, excluded)
    names = pq.read_schema(of).names
    columns = ", ".join(f"{alias} AS {quote_identifier(name)}" for alias, name in zip(position_aliases(len(names)), names))
    return f"(SELECT {columns} FROM {parquet_by_position(of, 'file', len(names))} WHERE {not_excluded(excluded)})"


def _identity(of: Path) -> list[int]:
    """What tells this file from one written in its place: its inode, size and modification time."""
    found = os.stat(of)
    return [found.st_ino, found.st_size, found.st_mtime_ns]
