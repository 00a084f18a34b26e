"""The schema rule: a window's Arrow types against the logical types of transform.columns."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from etl_assets.config.models import DECIMAL_TYPE


def schema_mismatches(schema: pa.Schema, expected: Mapping[str, str]) -> list[str]:
    """One line per expected column that is missing or has another type; empty when all match."""
    problems = []
    for column, kind in expected.items():
        if column not in schema.names:
            problems.append(f"{column} is missing")
        elif not matches_type(schema.field(column).type, kind):
            problems.append(f"{column} is {schema.field(column).type}, expected {kind}")
    return problems


def matches_type(actual: pa.DataType, kind: str) -> bool:
    """Whether an Arrow type holds the logical type `kind` (already normalised, as the config models leave it)."""
    decimal = DECIMAL_TYPE.match(kind)
    if decimal:
        return pa.types.is_decimal(actual) and (actual.precision, actual.scale) == (int(decimal[1]), int(decimal[2]))
    checks = {
        "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t),
        "integer": pa.types.is_integer,
        "float": pa.types.is_floating,
        "boolean": pa.types.is_boolean,
        "date": pa.types.is_date,
        "timestamp": pa.types.is_timestamp,
        "json": lambda t: getattr(t, "extension_name", None) == "arrow.json",
    }
    return checks[kind](actual)

