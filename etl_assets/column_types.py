"""The one place that maps column types between Arrow, the config's logical types, DuckDB and Snowflake.

The logical types are what transform.columns may name: one of SCALAR_TYPES, or decimal(p,s) with p <= 38.
"""

from __future__ import annotations

import re

import pyarrow as pa

SCALAR_TYPES = ("string", "integer", "float", "boolean", "date", "timestamp", "json")
DECIMAL_TYPE = re.compile(r"^decimal\((\d{1,2}),\s*(\d{1,2})\)$")
MAX_DECIMAL_PRECISION = 38
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "float": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "json": "JSON",
}
# Snowflake's type for each family of Arrow types (see FAMILIES) but decimals and timestamps, which carry parameters.
SNOWFLAKE_TYPES = {
    "json": "VARIANT",
    "string": "VARCHAR",
    "null": "VARCHAR",
    "boolean": "BOOLEAN",
    "integer": "NUMBER(38,0)",
    "float": "FLOAT",
    "date": "DATE",
    "time": "TIME",
    "nested": "VARIANT",
    "binary": "BINARY",
}


def normalised_type(value: str) -> str:
    """A logical type in canonical spelling; a ValueError (which pydantic reports) for anything else."""
    normalised = value.strip().lower()
    if normalised in SCALAR_TYPES:
        return normalised
    match = DECIMAL_TYPE.match(normalised)
    if match and 0 < int(match[1]) <= MAX_DECIMAL_PRECISION and int(match[2]) <= int(match[1]):
        return f"decimal({int(match[1])},{int(match[2])})"
    raise ValueError(
        f"unknown type {value!r}; use one of {', '.join(SCALAR_TYPES)} or decimal(p,s) with p<={MAX_DECIMAL_PRECISION}"
    )


def logical_type(arrow_type: pa.DataType) -> str | None:
    """The logical type that holds values of `arrow_type` as they are; None when none does (binary, nested, time...)."""
    family = _family(arrow_type)
    if family == "decimal":
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    return family if family in SCALAR_TYPES else None


def matches_type(arrow_type: pa.DataType, logical: str) -> bool:
    """Whether an Arrow type holds the logical type `logical` (in the canonical spelling normalised_type gives)."""
    return logical_type(arrow_type) == logical


def duckdb_type(logical: str) -> str:
    """The DuckDB type for a logical type in canonical spelling."""
    if logical in DUCKDB_TYPES:
        return DUCKDB_TYPES[logical]
    match = DECIMAL_TYPE.match(logical)
    if match is None:
        raise ValueError(f"unknown logical type {logical!r}")
    return f"DECIMAL({int(match[1])},{int(match[2])})"


def snowflake_type(arrow_type: pa.DataType) -> str | None:
    """The Snowflake column type that holds values of `arrow_type` without loss (JSON as VARIANT); None when none does."""
    if isinstance(arrow_type, pa.ExtensionType):
        return snowflake_type(arrow_type.storage_type)
    if pa.types.is_dictionary(arrow_type):
        return snowflake_type(arrow_type.value_type)
    family = _family(arrow_type)
    if family == "decimal":
        return f"NUMBER({arrow_type.precision},{arrow_type.scale})"
    if family == "timestamp":
        return "TIMESTAMP_TZ" if arrow_type.tz else "TIMESTAMP_NTZ"
    return SNOWFLAKE_TYPES.get(family)


def is_json(arrow_type: pa.DataType) -> bool:
    """Arrow's JSON type: text that holds one JSON document per value."""
    return isinstance(arrow_type, pa.JsonType)


def is_string(arrow_type: pa.DataType) -> bool:
    """Plain text in any of Arrow's string layouts."""
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type)


def is_text(arrow_type: pa.DataType) -> bool:
    """Strings and JSON: both hold text, which profiling reads as such."""
    return is_string(arrow_type) or is_json(arrow_type)


def is_binary(arrow_type: pa.DataType) -> bool:
    """Bytes in any of Arrow's binary layouts."""
    return pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type) or pa.types.is_fixed_size_binary(arrow_type)


# Each Arrow type falls in at most one family; the families that share a logical type's name are that type.
FAMILIES = (
    ("json", is_json),
    ("string", is_string),
    ("boolean", pa.types.is_boolean),
    ("integer", pa.types.is_integer),
    ("float", pa.types.is_floating),
    ("decimal", pa.types.is_decimal),
    ("date", pa.types.is_date),
    ("timestamp", pa.types.is_timestamp),
    ("time", pa.types.is_time),
    ("null", pa.types.is_null),
    ("nested", pa.types.is_nested),
    ("binary", is_binary),
)


def _family(arrow_type: pa.DataType) -> str | None:
    return next((name for name, test in FAMILIES if test(arrow_type)), None)
