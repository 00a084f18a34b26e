"""Which type a text column's values fit: guessed on the sample, then proved on every row with that type's checks only."""

from __future__ import annotations

import duckdb

from etl_assets.column_types import MAX_DECIMAL_PRECISION
from etl_assets.profiling.sql import per_text_column

# A value gets a type only when it is written the way that type prints it back, so no load reads differently:
# "007", "+1", " 12", ".5", "5.", "-0", "1e3" and "1_000" keep their columns text. Booleans ignore case, in ASCII
# only: a regex's case folding would take "falſe" (a long s) for "false", which no cast reads.
DECIMAL_PATTERN = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?"
NEGATIVE_ZERO_PATTERN = r"-[0.]+"
# ISO 8601 with at most microseconds, which is all a loaded timestamp keeps
TIMESTAMP_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"
TYPES = ("boolean", "integer", "decimal", "date", "timestamp")
# One count per entry of TYPES, in that order: how many values fit the type; {c} is the column. An integer or a
# date fits when it prints back as itself (a BIGINT prints no sign but "-" and no leading zero; a DATE of years
# 0 to 9999 prints as YYYY-MM-DD, ten characters): no regex to run, and DuckDB casts a repeated value once.
CHECKS = (
    "count_if(lower({c}) IN ('true', 'false'))",
    "count_if(CAST(TRY_CAST({c} AS BIGINT) AS VARCHAR) = {c})",
    f"count_if(regexp_full_match({{c}}, '{DECIMAL_PATTERN}') AND NOT regexp_full_match({{c}}, '{NEGATIVE_ZERO_PATTERN}'))",
    "count_if(length({c}) = 10 AND CAST(TRY_CAST({c} AS DATE) AS VARCHAR) = {c})",
    f"count_if(regexp_full_match({{c}}, '{TIMESTAMP_PATTERN}') AND TRY_CAST({{c}} AS TIMESTAMPTZ) IS NOT NULL)",
)
# The digits before and after the point count only when every value is a decimal as DECIMAL_PATTERN writes it:
# then the point's position tells them, at a third of the cost of extracting them with a regex.
DETAILS = (
    "max(CASE WHEN strpos({c}, '.') > 0 THEN strpos({c}, '.') - 1 ELSE length({c}) END - starts_with({c}, '-')::INTEGER)",
    "max(CASE WHEN strpos({c}, '.') > 0 THEN length({c}) - strpos({c}, '.') ELSE 0 END)",
    "bool_and(lower({c}) = 'true')",
    "bool_or(lower({c}) = 'true')",
    "arg_min({c}, TRY_CAST({c} AS DOUBLE))",
    "arg_max({c}, TRY_CAST({c} AS DOUBLE))",
    "arg_min({c}, TRY_CAST({c} AS TIMESTAMPTZ))",
    "arg_max({c}, TRY_CAST({c} AS TIMESTAMPTZ))",
)
TEMPLATES = CHECKS + DETAILS
# The entries of TEMPLATES a guessed type needs on every row; the others are left NULL so the scan skips them.
NEEDED = {
    "boolean": {0, 7, 8},
    "integer": {1, 9, 10},
    "decimal": {2, 5, 6, 9, 10},
    "date": {3, 11, 12},
    "timestamp": {4, 11, 12},
    "string": set(),
    None: set(range(len(TEMPLATES))),
}


def guesses(connection: duckdb.DuckDBPyConnection, names: list[str], sample_rows: int) -> dict[str, str | None]:
    """Per text column, the first type all its values in `sample` (of `sample_rows` rows) fit ('string' if none);
    None when the sample has no value."""
    if not names:
        return {}

    def counts(value: str, index: int | None) -> list[str]:
        return [f"count({value})", *(check.replace("{c}", value) for check in CHECKS)]

    found = {}
    for index, count, *fits in per_text_column(connection, names, counts, sample_rows):
        found[names[index]] = None if count == 0 else next((t for t, fit in zip(TYPES, fits) if fit == count), "string")
    return found


def templates(guess: str | None) -> list[str]:
    """The TEMPLATES that prove `guess` on every row (all of them for None), NULL in place of the rest."""
    return [template if index in NEEDED[guess] else "NULL" for index, template in enumerate(TEMPLATES)]


def proved(guess: str | None, inferred: tuple[str, object, object] | None) -> bool:
    """Whether the full scan confirmed the guess; when it did not, only a scan with every template tells the type."""
    if guess in (None, "string"):
        return True
    return inferred is not None and inferred[0].split("(")[0] == guess


def narrowest(count: int, values: tuple) -> tuple[str, object, object] | None:
    """The narrowest type every non-null value fits, with the typed min and max; None when text is all they are."""
    booleans, integers, decimals, dates, timestamps = values[:5]
    integer_digits, scale, all_true, any_true, number_min, number_max, moment_min, moment_max = values[5:]
    precision = max(integer_digits or 0, 1) + (scale or 0)
    if count == 0:
        return None
    if booleans == count:
        return "boolean", all_true, any_true
    if integers == count:
        return "integer", int(number_min), int(number_max)
    if decimals == count and precision <= MAX_DECIMAL_PRECISION:
        return f"decimal({precision},{scale or 0})", number_min, number_max
    if dates == count:
        return "date", moment_min, moment_max
    if timestamps == count:
        return "timestamp", moment_min, moment_max
    return None
