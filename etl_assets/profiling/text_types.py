"""Which type a text column's values fit: guessed on the sample, then proved on every row with that type's checks only."""

from __future__ import annotations

import duckdb

from etl_assets.profiling.sql import quote

# Each pattern is checked on the trimmed text; DuckDB's own casts alone are too lenient ('1.5' casts to BIGINT 2).
BOOLEAN_PATTERN = r"(?i)true|false"
INTEGER_PATTERN = r"[+-]?\d+"
DECIMAL_PATTERN = r"[+-]?(\d+\.?\d*|\.\d+)"
FLOAT_PATTERN = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
TIMESTAMP_PATTERN = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?"
MAX_DECIMAL_PRECISION = 38
TYPES = ("boolean", "integer", "decimal", "float", "date", "timestamp")
# One count per entry of TYPES, in that order: how many values fit the type; {t} is the column's trimmed text.
CHECKS = (
    f"count_if(regexp_full_match({{t}}, '{BOOLEAN_PATTERN}'))",
    f"count_if(regexp_full_match({{t}}, '{INTEGER_PATTERN}') AND TRY_CAST({{t}} AS BIGINT) IS NOT NULL)",
    f"count_if(regexp_full_match({{t}}, '{DECIMAL_PATTERN}'))",
    f"count_if(regexp_full_match({{t}}, '{FLOAT_PATTERN}') AND TRY_CAST({{t}} AS DOUBLE) IS NOT NULL)",
    f"count_if(regexp_full_match({{t}}, '{DATE_PATTERN}') AND TRY_CAST({{t}} AS DATE) IS NOT NULL)",
    f"count_if(regexp_full_match({{t}}, '{TIMESTAMP_PATTERN}') AND TRY_CAST({{t}} AS TIMESTAMPTZ) IS NOT NULL)",
)
DETAILS = (
    r"max(length(regexp_extract({t}, '^[+-]?(\d*)', 1)))",
    r"max(length(regexp_extract({t}, '\.(\d*)$', 1)))",
    "bool_and(lower({t}) = 'true')",
    "bool_or(lower({t}) = 'true')",
    "arg_min({t}, TRY_CAST({t} AS DOUBLE))",
    "arg_max({t}, TRY_CAST({t} AS DOUBLE))",
    "arg_min({t}, TRY_CAST({t} AS TIMESTAMPTZ))",
    "arg_max({t}, TRY_CAST({t} AS TIMESTAMPTZ))",
)
TEMPLATES = CHECKS + DETAILS
# The entries of TEMPLATES a guessed type needs on every row; the others are left NULL so the scan skips them.
NEEDED = {
    "boolean": {0, 8, 9},
    "integer": {1, 10, 11},
    "decimal": {2, 6, 7, 10, 11},
    "float": {3, 10, 11},
    "date": {4, 12, 13},
    "timestamp": {5, 12, 13},
    "string": set(),
    None: set(range(len(TEMPLATES))),
}


def guesses(connection: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, str | None]:
    """Per text column, the first type all its values in `sample` fit ('string' if none); None when the sample has no value."""
    if not names:
        return {}
    # one UNION ALL branch per column: the sample is a single row group, so one SELECT of it would use one thread
    branches = []
    for index, name in enumerate(names):
        checks = [check.replace("{t}", f"trim({quote(name)})") for check in CHECKS]
        branches.append(f"(SELECT {index} AS i, count({quote(name)}), {', '.join(checks)} FROM sample)")
    found = {}
    for index, count, *fits in sorted(connection.execute(" UNION ALL ".join(branches)).fetchall()):
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
