"""Profile an upload in DuckDB over its Parquet: types, counts, ranges, distributions and candidates, in a few scans."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets import local_duckdb
from etl_assets.column_types import is_json, is_text, logical_type
from etl_assets.excluded_rows import kept_count
from etl_assets.files import write_atomically
from etl_assets.json_values import json_safe
from etl_assets.profiling import candidates, distributions, semantics, text_types
from etl_assets.profiling.model import ColumnProfile, Profile
from etl_assets.profiling.sql import create_sample, source_view
from etl_assets.sql_text import quote_identifier

# Above this many rows distinct counts are HyperLogLog estimates: exact ones cost a hash table of every value.
EXACT_DISTINCT_MAX_ROWS = 1_000_000
PLACEHOLDER = re.compile(r"\{([ctd])\}")  # {c}: the column, {t}: its trimmed text, {d}: its distinct count

# One aggregate per entry, in this order, for every text column; text_types.templates follow them.
TEXT_AGGREGATES = (
    "count({c})",
    "{d}",
    "min({c})",
    "max({c})",
    # printable ASCII other than a space never trims away: only the other first characters pay for trim()
    "count_if(CASE WHEN {c} = '' THEN true WHEN ord({c}) BETWEEN 33 AND 126 THEN false ELSE {t} = '' END)",
    "min(length({c}))",
    "avg(length({c}))",
    "max(length({c}))",
)
TYPED_AGGREGATES = ("count({c})", "{d}", "min({c})", "max({c})")
UNORDERED_AGGREGATES = ("count({c})", "{d}", "NULL", "NULL")


def profile_parquet(path: Path, database: duckdb.DuckDBPyConnection | None = None, excluded: Path | None = None) -> Profile:
    """Profile a Parquet file, but for its `excluded` rows (excluded_rows.py); text columns get the narrowest type
    all their values fit.

    Given an open `database` (local_duckdb.connect()), the profile runs in a cursor of it: a range's windows
    then pay DuckDB's start-up once.
    """
    fields = [f for f in pq.read_schema(path) if not f.name.startswith("_")]
    rows = kept_count(path, excluded)
    if rows == 0:
        # Most windows of a backfill are empty: their profile follows from the schema, with no scan to pay for.
        return empty_profile(fields)
    return scanned_profile(path, fields, rows > EXACT_DISTINCT_MAX_ROWS, database, excluded)


def empty_profile(fields: list[pa.Field]) -> Profile:
    """The profile of no rows: each column's schema type, nothing counted."""
    columns = [
        ColumnProfile(f.name, str(f.type), _empty_type_of(f.type), null_count=0, distinct_count=0, min=None, max=None)
        for f in fields
    ]
    columns, dates = semantics.schema_semantics(columns, fields)
    return Profile(0, columns, date_candidates=dates)


def scanned_profile(
    path: Path,
    fields: list[pa.Field],
    approximate: bool,
    database: duckdb.DuckDBPyConnection | None = None,
    excluded: Path | None = None,
) -> Profile:
    """Profile a Parquet file's rows in DuckDB, in a few scans; its temp tables live as long as its cursor."""
    with local_duckdb.connect() if database is None else database.cursor() as connection:
        connection.execute(source_view(path, [f.name for f in fields if is_json(f.type)], excluded))
        sample_rows = create_sample(connection, [f.name for f in fields])
        row_count, columns = _base_profiles(connection, fields, approximate, sample_rows)
        if approximate:
            columns = candidates.count_near_unique(connection, columns, row_count)
        columns, dates, rejected = semantics.add_semantics(connection, columns, fields, row_count, sample_rows)
        columns = distributions.add_distributions(connection, columns, fields, dates, row_count, sample_rows)
        keys = candidates.key_candidates(connection, columns, row_count)
        duplicates = candidates.duplicate_rows(connection, columns, row_count, has_key=bool(keys))
    return Profile(row_count, columns, duplicates, keys, dates, rejected)


def write_profile(profile: Profile, path: Path) -> None:
    """Write a profile as JSON, atomically."""
    write_atomically(path, json.dumps(profile.to_dict(), indent=2))


def read_profile(path: Path) -> Profile:
    """Read a profile written by write_profile."""
    return Profile.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _base_profiles(
    connection: duckdb.DuckDBPyConnection, fields: list[pa.Field], approximate: bool, sample_rows: int
) -> tuple[int, list[ColumnProfile]]:
    guesses = text_types.guesses(connection, [f.name for f in fields if is_text(f.type) and not is_json(f.type)], sample_rows)
    guesses |= {f.name: "string" for f in fields if is_json(f.type)}
    plans = [_aggregates_for(f, approximate, guesses.get(f.name)) for f in fields]
    select = ", ".join(["count(*)"] + [aggregate for plan in plans for aggregate in plan])
    row = connection.execute(f"SELECT {select} FROM source").fetchone()
    row_count, offset, columns, unproved = row[0], 1, [], {}
    for f, plan in zip(fields, plans):
        values = row[offset : offset + len(plan)]
        offset += len(plan)
        if not is_text(f.type):
            column = _typed_profile(f, row_count, values)
        elif text_types.proved(guesses[f.name], text_types.narrowest(values[0], values[len(TEXT_AGGREGATES) :])):
            column = _text_profile(f, row_count, values)
        else:
            column, unproved[len(columns)] = None, values[: len(TEXT_AGGREGATES)]
        columns.append(column)
    columns = _retyped(connection, fields, columns, unproved, row_count)
    if not approximate:
        columns = distributions.add_value_counts(connection, columns, fields, row_count, sample_rows)
    return row_count, [dataclasses.replace(column, distinct_is_approximate=approximate) for column in columns]


def _retyped(
    connection: duckdb.DuckDBPyConnection,
    fields: list[pa.Field],
    columns: list[ColumnProfile | None],
    unproved: dict[int, tuple],
    row_count: int,
) -> list[ColumnProfile]:
    """Fills in the text columns whose sampled type failed on some row, typed again with every check on every row."""
    if not unproved:
        return columns
    width = len(text_types.TEMPLATES)
    aggregates = [a for index in unproved for a in _substituted(fields[index].name, text_types.templates(None), "NULL")]
    row = connection.execute(f"SELECT {', '.join(aggregates)} FROM source").fetchone()
    filled = list(columns)
    for position, (index, base) in enumerate(unproved.items()):
        filled[index] = _text_profile(fields[index], row_count, base + row[position * width : (position + 1) * width])
    return filled


def _aggregates_for(arrow_field: pa.Field, approximate: bool, guess: str | None) -> list[str]:
    quoted = quote_identifier(arrow_field.name)
    if is_text(arrow_field.type):
        templates = [*TEXT_AGGREGATES, *text_types.templates(guess)]
    elif _is_orderable(arrow_field.type):
        templates = TYPED_AGGREGATES
    else:
        templates = UNORDERED_AGGREGATES
    # exact distinct counts come with the top values, from the one GROUP BY that both need
    distinct = f"approx_count_distinct({quoted})" if approximate else "NULL"
    return _substituted(arrow_field.name, templates, distinct)


def _substituted(name: str, templates: list[str] | tuple[str, ...], distinct: str) -> list[str]:
    substitutes = {"c": quote_identifier(name), "t": f"trim({quote_identifier(name)})", "d": distinct}
    return [PLACEHOLDER.sub(lambda match: substitutes[match[1]], template) for template in templates]


def _text_profile(arrow_field: pa.Field, row_count: int, values: tuple) -> ColumnProfile:
    count, distinct, text_min, text_max, empty, shortest, mean_length, longest = values[: len(TEXT_AGGREGATES)]
    untyped = "json" if is_json(arrow_field.type) else "string"
    inferred, low, high = text_types.narrowest(count, values[len(TEXT_AGGREGATES) :]) or (untyped, text_min, text_max)
    length = None if count == 0 else {"min": shortest, "mean": round(mean_length, 2), "max": longest}
    return ColumnProfile(
        arrow_field.name, str(arrow_field.type), inferred, row_count - count, distinct, low, high,
        empty_count=empty or 0, length=length,
    )


def _typed_profile(arrow_field: pa.Field, row_count: int, values: tuple) -> ColumnProfile:
    count, distinct, low, high = values
    return ColumnProfile(
        arrow_field.name, str(arrow_field.type), _type_of(arrow_field.type), row_count - count, distinct,
        json_safe(low), json_safe(high),
    )


def _empty_type_of(arrow_type: pa.DataType) -> str:
    if is_text(arrow_type):
        return "json" if is_json(arrow_type) else "string"
    return _type_of(arrow_type)


def _type_of(arrow_type: pa.DataType) -> str:
    # a type no logical type holds (binary, time, nested) is profiled as text
    return logical_type(arrow_type) or "string"


def _is_orderable(arrow_type: pa.DataType) -> bool:
    return logical_type(arrow_type) is not None or pa.types.is_time(arrow_type)
