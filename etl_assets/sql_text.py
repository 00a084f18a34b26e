"""The one place that writes names and values into SQL text, for DuckDB and Snowflake alike.

Both quote identifiers in double quotes and text in single quotes, each doubling its own quote,
so no config or file text can change a statement.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from etl_assets.errors import EtlAssetsError


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted identifier, embedded quotes doubled."""
    if not name:
        raise EtlAssetsError("An empty name cannot be written into SQL; give every table and column a name.")
    return '"' + name.replace('"', '""') + '"'


def qualified_name(*parts: str) -> str:
    """Quoted parts joined by dots, e.g. "ANALYTICS"."RAW"."ORDERS"."""
    return ".".join(quote_identifier(part) for part in parts)


def position_aliases(count: int) -> list[str]:
    """c0, c1, ...: the names parquet_by_position gives a file's `count` columns, in file order."""
    return [f"c{position}" for position in range(count)]


def parquet_by_position(path: Path, table: str, count: int) -> str:
    """`read_parquet(path)` named `table`, its `count` columns renamed by position (position_aliases): no column
    of the file can then shadow DuckDB's `file_row_number` or a name the query gives its own results."""
    return f"read_parquet({literal(str(path))}) AS {table}({', '.join(position_aliases(count))})"


def literal(value: Any) -> str:
    """A SQL literal of the value's own type, so the database compares it with a column of that type."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and not math.isfinite(value):
        return f"CAST('{value}' AS DOUBLE)"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo else "TIMESTAMP"
        return f"{kind} '{value.isoformat()}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"
