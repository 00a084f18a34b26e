"""The schema rule: a window's Arrow types against the logical types of transform.columns."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from etl_assets.column_types import matches_type


def schema_mismatches(schema: pa.Schema, expected: Mapping[str, str]) -> list[str]:
    """One line per expected column that is missing or has another type; empty when all match."""
    problems = []
    for column, kind in expected.items():
        if column not in schema.names:
            problems.append(f"{column} is missing")
        elif not matches_type(schema.field(column).type, kind):
            problems.append(f"{column} is {schema.field(column).type}, expected {kind}")
    return problems
