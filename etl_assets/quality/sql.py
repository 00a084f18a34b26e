"""Values and names written into DuckDB SQL, quoted so that no config text can change the statement."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

NUMBER_TYPE = re.compile(r"U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)")
MOMENT_TYPE = re.compile(r"(DATE|TIME|TIMESTAMP)(_S|_MS|_NS| WITH TIME ZONE)?")
# What a family of column types is called in a sentence; `other` types (JSON, lists, ...) say their own name.
FAMILY_WORDS = {"number": "numbers", "moment": "dates or times", "text": "text", "boolean": "booleans"}


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A SQL literal of the value's own type, so DuckDB compares it with the column's type."""
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


def type_family(duckdb_type: str) -> str:
    """number, moment, text or boolean: which values a column of this DuckDB type compares with; else other."""
    if NUMBER_TYPE.fullmatch(duckdb_type):
        return "number"
    if MOMENT_TYPE.fullmatch(duckdb_type):
        return "moment"
    if duckdb_type == "VARCHAR":
        return "text"
    return "boolean" if duckdb_type == "BOOLEAN" else "other"


def value_family(value: Any) -> str:
    """The type_family a config value belongs to."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "moment" if isinstance(value, dt.date) else "text"
