"""Config values written into DuckDB SQL typed to match the column they are compared with."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import duckdb

from etl_assets.sql_text import literal

NUMBER_TYPE = re.compile(r"U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)")
MOMENT_TYPE = re.compile(r"(DATE|TIME|TIMESTAMP)(_S|_MS|_NS| WITH TIME ZONE)?")
# What a family of column types is called in a sentence; `other` types (JSON, lists, ...) say their own name.
FAMILY_WORDS = {"number": "numbers", "moment": "dates or times", "text": "text", "boolean": "booleans"}
VALUE_WORDS = {"number": "a number", "moment": "a date or time", "text": "text", "boolean": "a boolean"}


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


def comparable_value(
    connection: duckdb.DuckDBPyConnection, what: str, rule_kind: str, value: Any, name: str, column_type: str
) -> tuple[str, str | None]:
    """(the config value as SQL that compares with the column, None) or ("", why it cannot be compared)."""
    family, given = type_family(column_type), value_family(value)
    if family == "other":
        return "", f"{name} holds {column_type}, which {rule_kind} cannot compare; check it with another rule or type the column in transform.columns."
    if family == "moment" and given in ("moment", "text"):
        sql = _moment_sql(connection, value, column_type)
        if sql is None:
            return "", (
                f"the {what} {value!r} is not a date or time like {name} ({column_type}) holds; "
                "write it as YYYY-MM-DD (or with a time) in etl_config.yaml."
            )
        return sql, None
    if given != family:
        return "", (
            f"the {what} {value!r} is {VALUE_WORDS[given]} but {name} holds {FAMILY_WORDS[family]} ({column_type}); "
            f"write the {what} as {VALUE_WORDS[family]} in etl_config.yaml."
        )
    return literal(value), None


def _moment_sql(connection: duckdb.DuckDBPyConnection, value: Any, column_type: str) -> str | None:
    """A date or time value as SQL that compares with a column of `column_type`; None when it is none."""
    sql = literal(value) if isinstance(value, dt.date) else f"TRY_CAST({literal(value)} AS {column_type})"
    try:
        # the comparison with a typed NULL only binds when DuckDB can compare the two types
        usable = connection.execute(f"SELECT {sql} IS NOT NULL AND (CAST(NULL AS {column_type}) < {sql}) IS NULL").fetchone()
    except duckdb.Error:
        return None
    return sql if usable and usable[0] else None
