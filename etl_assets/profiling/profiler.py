"""Profile an upload: per column types, nulls, distinct counts and ranges, in one DuckDB query."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

JsonScalar = str | int | float | bool | None

# Each pattern is checked on the trimmed text; DuckDB's own casts alone are too lenient ('1.5' casts to BIGINT 2).
BOOLEAN_PATTERN = r"(?i)true|false"
INTEGER_PATTERN = r"[+-]?\d+"
DECIMAL_PATTERN = r"[+-]?(\d+\.?\d*|\.\d+)"
FLOAT_PATTERN = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
TIMESTAMP_PATTERN = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?"
MAX_DECIMAL_PRECISION = 38
PLACEHOLDER = re.compile(r"\{([ct])\}")  # {c}: the column, {t}: its trimmed text

# One aggregate per entry, in this order, for every text column.
TEXT_AGGREGATES = (
    "count({c})",
    "count(DISTINCT {c})",
    "min({c})",
    "max({c})",
    f"count_if(regexp_full_match({{t}}, '{BOOLEAN_PATTERN}'))",
    f"count_if(regexp_full_match({{t}}, '{INTEGER_PATTERN}') AND TRY_CAST({{t}} AS BIGINT) IS NOT NULL)",
    f"count_if(regexp_full_match({{t}}, '{DECIMAL_PATTERN}'))",
    f"count_if(regexp_full_match({{t}}, '{FLOAT_PATTERN}') AND TRY_CAST({{t}} AS DOUBLE) IS NOT NULL)",
    f"count_if(regexp_full_match({{t}}, '{DATE_PATTERN}') AND TRY_CAST({{t}} AS DATE) IS NOT NULL)",
    f"count_if(regexp_full_match({{t}}, '{TIMESTAMP_PATTERN}') AND TRY_CAST({{t}} AS TIMESTAMPTZ) IS NOT NULL)",
    r"max(length(regexp_extract({t}, '^[+-]?(\d*)', 1)))",
    r"max(length(regexp_extract({t}, '\.(\d*)$', 1)))",
    "bool_and(lower({t}) = 'true')",
    "bool_or(lower({t}) = 'true')",
    "arg_min({t}, TRY_CAST({t} AS DOUBLE))",
    "arg_max({t}, TRY_CAST({t} AS DOUBLE))",
    "arg_min({t}, TRY_CAST({t} AS TIMESTAMPTZ))",
    "arg_max({t}, TRY_CAST({t} AS TIMESTAMPTZ))",
)
TYPED_AGGREGATES = ("count({c})", "count(DISTINCT {c})", "min({c})", "max({c})")
UNORDERED_AGGREGATES = ("count({c})", "count(DISTINCT {c})", "NULL", "NULL")


@dataclass(frozen=True)
class ColumnProfile:
    """What one column holds."""

    name: str
    physical_type: str
    inferred_type: str
    null_count: int
    distinct_count: int
    min: JsonScalar
    max: JsonScalar


@dataclass(frozen=True)
class Profile:
    """What an upload holds, column by column (lineage columns left out)."""

    row_count: int
    columns: list[ColumnProfile]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls(row_count=data["row_count"], columns=[ColumnProfile(**column) for column in data["columns"]])

    def inferred_types(self) -> dict[str, str]:
        return {column.name: column.inferred_type for column in self.columns}

    def to_markdown(self) -> str:
        """A Markdown table: column, type, nulls, distinct, min, max."""
        lines = ["| column | type | nulls | distinct | min | max |", "|---|---|---:|---:|---|---|"]
        for column in self.columns:
            cells = [column.name, column.inferred_type, column.null_count, column.distinct_count, column.min, column.max]
            lines.append("| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |")
        return "\n".join(lines)


def profile_parquet(path: Path) -> Profile:
    """Profile a Parquet file; text columns get the narrowest type all their values fit."""
    fields = [field for field in pq.read_schema(path) if not field.name.startswith("_")]
    plans = [_aggregates_for(field) for field in fields]
    select = ", ".join(["count(*)"] + [aggregate for plan in plans for aggregate in plan])
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        row = connection.execute(f"SELECT {select} FROM read_parquet($1)", [str(path)]).fetchone()
    row_count, offset, columns = row[0], 1, []
    for field, plan in zip(fields, plans):
        values = row[offset : offset + len(plan)]
        offset += len(plan)
        columns.append(_text_profile(field, row_count, values) if _is_text(field.type) else _typed_profile(field, row_count, values))
    return Profile(row_count=row_count, columns=columns)


def write_profile(profile: Profile, path: Path) -> None:
    """Write a profile as JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(profile.to_dict(), indent=2), encoding="utf-8")
    os.replace(temporary, path)


def read_profile(path: Path) -> Profile:
    """Read a profile written by write_profile."""
    return Profile.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _aggregates_for(field: pa.Field) -> list[str]:
    quoted = '"' + field.name.replace('"', '""') + '"'
    if _is_text(field.type):
        templates = TEXT_AGGREGATES
    elif _is_orderable(field.type):
        templates = TYPED_AGGREGATES
    else:
        templates = UNORDERED_AGGREGATES
    substitutes = {"c": quoted, "t": f"trim({quoted})"}
    return [PLACEHOLDER.sub(lambda match: substitutes[match[1]], template) for template in templates]


def _text_profile(field: pa.Field, row_count: int, values: tuple) -> ColumnProfile:
    count, distinct, text_min, text_max = values[:4]
    inferred, low, high = _text_type(count, values[4:]) or ("string", text_min, text_max)
    return ColumnProfile(field.name, str(field.type), inferred, row_count - count, distinct, low, high)


def _text_type(count: int, values: tuple) -> tuple[str, JsonScalar, JsonScalar] | None:
    """The narrowest type every non-null value fits, with the typed min and max; None when text is all they are."""
    booleans, integers, decimals, floats, dates, timestamps = values[:6]
    integer_digits, scale, all_true, any_true, number_min, number_max, moment_min, moment_max = values[6:]
    precision = max(integer_digits or 0, 1) + (scale or 0)
    if count == 0:
        return None
    if booleans == count:
        return "boolean", all_true, any_true
    if integers == count:
        return "integer", int(number_min), int(number_max)
    if decimals == count and precision <= MAX_DECIMAL_PRECISION:
        return f"decimal({precision},{scale or 0})", number_min, number_max
    if floats == count:
        return "float", float(number_min), float(number_max)
    if dates == count:
        return "date", moment_min, moment_max
    if timestamps == count:
        return "timestamp", moment_min, moment_max
    return None


def _typed_profile(field: pa.Field, row_count: int, values: tuple) -> ColumnProfile:
    count, distinct, low, high = values
    return ColumnProfile(
        field.name, str(field.type), _type_of(field.type), row_count - count, distinct, _json_safe(low), _json_safe(high)
    )


def _type_of(arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    return "string"


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type)


def _is_orderable(arrow_type: pa.DataType) -> bool:
    return _type_of(arrow_type) != "string" or pa.types.is_time(arrow_type)


def _json_safe(value: Any) -> JsonScalar:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _markdown_cell(value: JsonScalar) -> str:
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")
