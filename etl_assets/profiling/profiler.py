"""Profile an upload in DuckDB over its Parquet: types, counts, ranges, distributions and candidates, in a few scans."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.profiling import candidates, distributions, semantics
from etl_assets.profiling.sql import is_text, json_safe, quote, source_view

JsonScalar = str | int | float | bool | None

# Each pattern is checked on the trimmed text; DuckDB's own casts alone are too lenient ('1.5' casts to BIGINT 2).
BOOLEAN_PATTERN = r"(?i)true|false"
INTEGER_PATTERN = r"[+-]?\d+"
DECIMAL_PATTERN = r"[+-]?(\d+\.?\d*|\.\d+)"
FLOAT_PATTERN = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
TIMESTAMP_PATTERN = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?"
MAX_DECIMAL_PRECISION = 38
# Above this many rows distinct counts are HyperLogLog estimates: exact ones cost a hash table of every value.
EXACT_DISTINCT_MAX_ROWS = 1_000_000
PLACEHOLDER = re.compile(r"\{([ctd])\}")  # {c}: the column, {t}: its trimmed text, {d}: its distinct count

# One aggregate per entry, in this order, for every text column.
TEXT_AGGREGATES = (
    "count({c})",
    "{d}",
    "min({c})",
    "max({c})",
    "count_if({t} = '')",
    "min(length({c}))",
    "avg(length({c}))",
    "max(length({c}))",
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
TYPED_AGGREGATES = ("count({c})", "{d}", "min({c})", "max({c})")
UNORDERED_AGGREGATES = ("count({c})", "{d}", "NULL", "NULL")


@dataclass(frozen=True)
class ColumnProfile:
    """What one column holds; everything after `max` is descriptive and optional in older profiles."""

    name: str
    physical_type: str
    inferred_type: str
    null_count: int
    distinct_count: int
    min: JsonScalar
    max: JsonScalar
    semantic_type: str | None = None
    empty_count: int = 0
    distinct_is_approximate: bool = False
    mean: float | None = None
    stddev: float | None = None
    quantiles: dict[str, JsonScalar] | None = None
    top_values: list[list[JsonScalar]] = field(default_factory=list)
    length: dict[str, float] | None = None
    pattern_sample: list[list[JsonScalar]] = field(default_factory=list)
    histogram: list[list[float]] = field(default_factory=list)


@dataclass(frozen=True)
class DateCandidate:
    """A column that holds dates, with the one format its text parses in (None when stored as a date)."""

    column: str
    format: str | None
    reason: str


@dataclass(frozen=True)
class Profile:
    """What an upload holds, column by column (lineage columns left out), and which columns look like keys or dates."""

    row_count: int
    columns: list[ColumnProfile]
    duplicate_rows: int = 0
    key_candidates: list[list[str]] = field(default_factory=list)
    date_candidates: list[DateCandidate] = field(default_factory=list)
    rejected_date_columns: list[DateCandidate] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls(
            row_count=data["row_count"],
            columns=[ColumnProfile(**column) for column in data["columns"]],
            duplicate_rows=data.get("duplicate_rows", 0),
            key_candidates=data.get("key_candidates", []),
            date_candidates=[DateCandidate(**entry) for entry in data.get("date_candidates", [])],
            rejected_date_columns=[DateCandidate(**entry) for entry in data.get("rejected_date_columns", [])],
        )

    def inferred_types(self) -> dict[str, str]:
        return {column.name: column.inferred_type for column in self.columns}

    def column(self, name: str) -> ColumnProfile:
        return next(column for column in self.columns if column.name == name)

    def to_markdown(self) -> str:
        """A Markdown table: column, type, nulls, distinct, min, max."""
        lines = ["| column | type | nulls | distinct | min | max |", "|---|---|---:|---:|---|---|"]
        for column in self.columns:
            cells = [column.name, column.inferred_type, column.null_count, column.distinct_count, column.min, column.max]
            lines.append("| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |")
        return "\n".join(lines)


def profile_parquet(path: Path) -> Profile:
    """Profile a Parquet file; text columns get the narrowest type all their values fit."""
    fields = [f for f in pq.read_schema(path) if not f.name.startswith("_")]
    approximate = pq.ParquetFile(path).metadata.num_rows > EXACT_DISTINCT_MAX_ROWS
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(source_view(path))
        row_count, columns = _base_profiles(connection, fields, approximate)
        columns, dates, rejected = semantics.add_semantics(connection, columns, fields, row_count)
        columns = distributions.add_distributions(connection, columns, fields, dates, row_count)
        keys = candidates.key_candidates(connection, columns, row_count)
        duplicates = candidates.duplicate_rows(connection, columns, row_count, has_key=bool(keys))
    return Profile(row_count, columns, duplicates, keys, dates, rejected)


def write_profile(profile: Profile, path: Path) -> None:
    """Write a profile as JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(profile.to_dict(), indent=2), encoding="utf-8")
    os.replace(temporary, path)


def read_profile(path: Path) -> Profile:
    """Read a profile written by write_profile."""
    return Profile.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _base_profiles(
    connection: duckdb.DuckDBPyConnection, fields: list[pa.Field], approximate: bool
) -> tuple[int, list[ColumnProfile]]:
    plans = [_aggregates_for(f, approximate) for f in fields]
    select = ", ".join(["count(*)"] + [aggregate for plan in plans for aggregate in plan])
    row = connection.execute(f"SELECT {select} FROM source").fetchone()
    row_count, offset, columns = row[0], 1, []
    for f, plan in zip(fields, plans):
        values = row[offset : offset + len(plan)]
        offset += len(plan)
        column = _text_profile(f, row_count, values) if is_text(f.type) else _typed_profile(f, row_count, values)
        columns.append(dataclasses.replace(column, distinct_is_approximate=approximate))
    return row_count, columns


def _aggregates_for(arrow_field: pa.Field, approximate: bool) -> list[str]:
    quoted = quote(arrow_field.name)
    if is_text(arrow_field.type):
        templates = TEXT_AGGREGATES
    elif _is_orderable(arrow_field.type):
        templates = TYPED_AGGREGATES
    else:
        templates = UNORDERED_AGGREGATES
    distinct = f"approx_count_distinct({quoted})" if approximate else f"count(DISTINCT {quoted})"
    substitutes = {"c": quoted, "t": f"trim({quoted})", "d": distinct}
    return [PLACEHOLDER.sub(lambda match: substitutes[match[1]], template) for template in templates]


def _text_profile(arrow_field: pa.Field, row_count: int, values: tuple) -> ColumnProfile:
    count, distinct, text_min, text_max, empty, shortest, mean_length, longest = values[:8]
    inferred, low, high = _text_type(count, values[8:]) or ("string", text_min, text_max)
    length = None if count == 0 else {"min": shortest, "mean": round(mean_length, 2), "max": longest}
    return ColumnProfile(
        arrow_field.name, str(arrow_field.type), inferred, row_count - count, distinct, low, high,
        empty_count=empty or 0, length=length,
    )


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


def _typed_profile(arrow_field: pa.Field, row_count: int, values: tuple) -> ColumnProfile:
    count, distinct, low, high = values
    return ColumnProfile(
        arrow_field.name, str(arrow_field.type), _type_of(arrow_field.type), row_count - count, distinct,
        json_safe(low), json_safe(high),
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


def _is_orderable(arrow_type: pa.DataType) -> bool:
    return _type_of(arrow_type) != "string" or pa.types.is_time(arrow_type)


def _markdown_cell(value: JsonScalar) -> str:
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")
