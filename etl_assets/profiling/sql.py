"""SQL pieces the profiling queries share: the source table, the sample and each column's typed value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from etl_assets.column_types import is_text
from etl_assets.excluded_rows import kept_relation
from etl_assets.sql_text import literal, quote_identifier

NUMBER_TYPES = ("integer", "float")
SAMPLE_ROWS = 20_000
# Up to this many rows a query of many text columns groups their values by column (per_text_column)
FEW_ROWS = 1_000


def source_view(path: Path, json_names: list[str], excluded: Path | None = None) -> str:
    """The statement that names the Parquet file's rows (but its `excluded` ones) `source`, a view each scan reads
    the file through.

    A view, not a table: a copy of a large window outgrows the memory limit and spills to disk, while DuckDB
    reads Parquet on every thread and only the columns a query names. JSON columns are read as their text,
    which the text queries read like any other.
    """
    as_text = ", ".join(f"CAST({quote_identifier(name)} AS VARCHAR) AS {quote_identifier(name)}" for name in json_names)
    replaced = f" REPLACE ({as_text})" if json_names else ""
    return f"CREATE TEMP VIEW source AS SELECT *{replaced} FROM {kept_relation(path, excluded)}"


def create_sample(connection: duckdb.DuckDBPyConnection, names: list[str]) -> int:
    """Keep SAMPLE_ROWS random rows of the named columns as the temp table `sample`, for checks too costly on every
    row: the text columns' types and shapes, and the key pairs worth counting in full. Returns its row count."""
    if not names:
        return 0
    return connection.execute(
        f"CREATE TEMP TABLE sample AS SELECT {', '.join(quote_identifier(n) for n in names)} "
        f"FROM source USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)"
    ).fetchone()[0]


def per_text_column(
    connection: duckdb.DuckDBPyConnection, names: list[str], aggregates: Callable[[str, int | None], list[str]], rows: int
) -> list[tuple]:
    """(index, *aggregates) for each of the named text columns of `sample` (of `rows` rows), in the order of `names`.

    `aggregates(value, index)` are the aggregates of one column's values, the SQL expression `value`: those that
    names[index] needs, or those any column needs (index None) when every column is aggregated in one query.
    Columns queried together (`grouped`) are read as one column of (index, value) pairs and grouped by index, so
    DuckDB compiles each expression (a regex, a date format) once instead of once per column, which is most of a
    small window's profile. Otherwise each column is its own UNION ALL branch: the sample is a single row group,
    so one SELECT of it would use one thread.
    """
    columns = list(enumerate(names))
    if grouped(columns, rows):
        sql = f"SELECT i, {', '.join(aggregates('v', None))} FROM {sample_values(columns)} GROUP BY i"
    else:
        branches = [
            f"(SELECT {index} AS i, {', '.join(aggregates(quote_identifier(name), index))} FROM sample)"
            for index, name in columns
        ]
        sql = " UNION ALL ".join(branches)
    return sorted(connection.execute(sql).fetchall())


def grouped(columns: list[tuple[int, str]], sample_rows: int) -> bool:
    """Whether the (index, name) text columns of a sample of `sample_rows` rows are queried together, as
    sample_values: a sample of at most FEW_ROWS rows (which, below SAMPLE_ROWS, holds every row of its window)
    costs more to plan per column than to read. An empty sample would give no group at all."""
    return len(columns) > 1 and 0 < sample_rows <= FEW_ROWS


def top_values(columns: list[tuple[int, str]], value: str, limit: int) -> str:
    """Rows (i, v, n, groups) of the (index, name) text columns of `sample` queried together: the `limit`
    commonest values of `value` (an expression of each value `v`) per column, with their counts and the column's
    distinct count, ordered by column, count and value."""
    counts = (
        f"(SELECT i, {value} AS v, count(*) AS n, count(*) OVER (PARTITION BY i) AS groups "
        f"FROM {sample_values(columns)} WHERE v IS NOT NULL GROUP BY i, 2)"
    )
    return f"(SELECT i, v, n, groups FROM {counts} QUALIFY row_number() OVER (PARTITION BY i ORDER BY n DESC, v) <= {limit} ORDER BY i, n DESC, v)"


def sample_values(columns: list[tuple[int, str]]) -> str:
    """The text columns of `sample` as one column `v` of their values as text, each with its column's index `i`:
    a subquery for the small samples whose per-column queries cost more to plan than to run."""
    indices = ", ".join(str(index) for index, _ in columns)
    values = ", ".join(f"CAST({quote_identifier(name)} AS VARCHAR)" for _, name in columns)
    return f"(SELECT unnest([{indices}]) AS i, unnest([{values}]) AS v FROM sample)"


def is_number(inferred_type: str) -> bool:
    return inferred_type in NUMBER_TYPES or inferred_type.startswith("decimal")


def typed_value(name: str, arrow_type: pa.DataType, inferred_type: str, date_format: str | None) -> tuple[str, str] | None:
    """('number' | 'moment', an expression of the column's values in their inferred type), or None for other types."""
    column = quote_identifier(name)
    text = is_text(arrow_type)
    # Text typed as a number, date or timestamp had every value written exactly as that type prints it
    # (text_types.py): no blank to trim, and no number past a double's range.
    if is_number(inferred_type):
        if text:
            return "number", f"TRY_CAST({column} AS DOUBLE)"
        return "number", f"(CASE WHEN isfinite(CAST({column} AS DOUBLE)) THEN CAST({column} AS DOUBLE) END)"
    if not text and inferred_type in ("date", "timestamp"):
        return "moment", column
    if inferred_type == "date":
        return "moment", f"TRY_CAST({column} AS DATE)"
    if inferred_type == "timestamp":
        return "moment", f"TRY_CAST({column} AS TIMESTAMPTZ)"
    if date_format:
        return "moment", f"try_strptime(trim({column}), {literal(date_format)})"
    return None

