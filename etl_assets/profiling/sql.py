"""SQL pieces the profiling queries share: the source table, the sample and each column's typed value."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from etl_assets.column_types import is_text
from etl_assets.excluded_rows import kept_relation
from etl_assets.sql_text import literal, quote_identifier

NUMBER_TYPES = ("integer", "float")
SAMPLE_ROWS = 20_000


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


def create_sample(connection: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    """Keep SAMPLE_ROWS random rows of the named columns as the temp table `sample`, for checks too costly on every
    row: the text columns' types and shapes, and the key pairs worth counting in full."""
    if names:
        connection.execute(
            f"CREATE TEMP TABLE sample AS SELECT {', '.join(quote_identifier(n) for n in names)} "
            f"FROM source USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)"
        )


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

