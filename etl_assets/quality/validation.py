"""Rule mistakes that `etl-assets validate` reports before anything runs: regexes, columns, bounds, references."""

from __future__ import annotations

import datetime as dt
import re

import duckdb

from etl_assets.config.columns import LINEAGE_TYPES
from etl_assets.config.models import DatasetConfig, QualityRule, RangeRule, ReferencesRule, RegexRule, RowCountRule
from etl_assets.quality.rules import rule_columns
from etl_assets.quality.sql import literal

# PyYAML reads a number such as 1.5e6, whose exponent has no sign, as text.
UNSIGNED_EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE]\d+$")
# What a range bound must be for each family of column types, and how to write one.
BOUND_ADVICE = {
    "number": "give a number such as 0 or 9.5, without quotes",
    "date": "give a date such as 2026-01-01 or a time such as 2026-01-01T06:00, without quotes",
    "text": "give text, in quotes",
}


def rule_problems(dataset: DatasetConfig, dataset_names: set[str]) -> list[tuple[str, str]]:
    """(field path such as `quality[2].pattern`, one-sentence problem) for each mistake in the dataset's rules."""
    declared = None
    if dataset.transform and dataset.transform.columns:
        declared = {name: spec.type for name, spec in dataset.transform.columns.items()}
    problems = []
    for index, rule in enumerate(dataset.quality):
        for field, problem in _problems_of(rule, declared, dataset_names):
            problems.append((f"quality[{index}]{'.' + field if field else ''}", problem))
    return problems


def _problems_of(
    rule: QualityRule, declared: dict[str, str] | None, dataset_names: set[str]
) -> list[tuple[str, str]]:
    types = None if declared is None else {**declared, **LINEAGE_TYPES}
    problems = [] if declared is None else _unknown_columns(rule, declared)
    if isinstance(rule, RegexRule):
        problem = regex_problem(rule.pattern)
        if problem:
            problems.append(("pattern", problem))
    if isinstance(rule, (RangeRule, RowCountRule)):
        problems.extend(_bound_problems(rule, types))
    if isinstance(rule, ReferencesRule) and rule.dataset not in dataset_names:
        known_datasets = ", ".join(sorted(dataset_names))
        problems.append(("dataset", f"no dataset named {rule.dataset!r}; use one of {known_datasets}."))
    return problems


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be used, or None: it must compile in Python and in DuckDB's RE2."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"{pattern!r} is not a valid regular expression ({exc}); fix the pattern."
    try:
        with duckdb.connect() as connection:
            connection.execute(f"SELECT regexp_matches('', {literal(pattern)})")
    except duckdb.Error as exc:
        reason = str(exc).split(": ", 1)[-1]
        return (
            f"{pattern!r} is not valid in DuckDB's RE2 syntax ({reason}); "
            "rewrite it without lookarounds or backreferences."
        )
    return None


def _unknown_columns(rule: QualityRule, declared: dict[str, str]) -> list[tuple[str, str]]:
    known = {*declared, *LINEAGE_TYPES}
    unknown = [column for column in rule_columns(rule) if column not in known]
    return [(_column_field(rule), _unknown_column(column, set(declared))) for column in unknown]


def _column_field(rule: QualityRule) -> str:
    if rule.rule == "schema":
        return "expected"
    return "columns" if getattr(rule, "columns", None) else "column"


def _unknown_column(column: str, declared: set[str]) -> str:
    return f"unknown column {column!r}; the transform declares {', '.join(sorted(declared))}."


def _bound_problems(rule: RangeRule | RowCountRule, types: dict[str, str] | None) -> list[tuple[str, str]]:
    # Bounds of the wrong type are reported alone: comparing them with each other would say nothing more.
    if isinstance(rule, RangeRule) and types is not None and rule.column in types:
        typed = _range_type_problems(rule, types[rule.column])
        if typed:
            return typed
    problem = _bounds_problem(rule.min, rule.max)
    return [("min", problem)] if problem else []


def _range_type_problems(rule: RangeRule, column_type: str) -> list[tuple[str, str]]:
    """A bound DuckDB could not compare with the column would fail the check with a cast error at run time."""
    family = _type_family(column_type)
    if family is None:
        return [
            (
                "column",
                f"column {rule.column!r} is {column_type}, which has no range; "
                "use accepted_values, or a range on a number, date, timestamp or string column.",
            )
        ]
    return [
        (name, f"{name} {_shown(bound)} is {_kind_phrase(bound)}, but column {rule.column!r} is {column_type}; "
         f"{_advice(family, bound)}.")
        for name, bound in (("min", rule.min), ("max", rule.max))
        if bound is not None and _bound_family(bound) != family
    ]


def _type_family(column_type: str) -> str | None:
    if column_type in ("integer", "float") or column_type.startswith("decimal"):
        return "number"
    return {"date": "date", "timestamp": "date", "string": "text"}.get(column_type)


def _bound_family(bound: object) -> str:
    if isinstance(bound, (int, float)):
        return "number"
    return "date" if isinstance(bound, dt.date) else "text"


def _kind_phrase(bound: object) -> str:
    return {"number": "a number", "date": "a date", "text": "text"}[_bound_family(bound)]


def _shown(bound: object) -> str:
    return bound.isoformat() if isinstance(bound, dt.date) else repr(bound)


def _advice(family: str, bound: object) -> str:
    if family == "number" and isinstance(bound, str) and UNSIGNED_EXPONENT.match(bound):
        return f"YAML reads {bound} as text, so write its exponent with a sign, such as 1.5e+6"
    return BOUND_ADVICE[family]


def _bounds_problem(low: object, high: object) -> str | None:
    if low is None or high is None:
        return None
    try:
        inverted = _comparable(low) > _comparable(high)  # type: ignore[operator]
    except TypeError:
        return f"min {low!r} and max {high!r} are not comparable; give both as numbers, or both as dates."
    return f"min {low!r} is greater than max {high!r}; swap them." if inverted else None


def _comparable(bound: object) -> object:
    """A date as midnight of that day, so it compares with a time as DuckDB compares them."""
    if isinstance(bound, dt.date) and not isinstance(bound, dt.datetime):
        return dt.datetime.combine(bound, dt.time())
    return bound
