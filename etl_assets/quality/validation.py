"""Rule mistakes that `etl-assets validate` reports before anything runs: regexes, columns, bounds, references."""

from __future__ import annotations

import re

import duckdb

from etl_assets.config.models import DatasetConfig, QualityRule, RangeRule, ReferencesRule, RegexRule, RowCountRule
from etl_assets.quality.rules import rule_columns
from etl_assets.quality.sql import literal

LINEAGE_COLUMNS = ("_source_file", "_source_row", "_arrived_at")


def rule_problems(dataset: DatasetConfig, dataset_names: set[str]) -> list[tuple[str, str]]:
    """(field path such as `quality[2].pattern`, one-sentence problem) for each mistake in the dataset's rules."""
    declared = set(dataset.transform.columns) if dataset.transform and dataset.transform.columns else None
    problems = []
    for index, rule in enumerate(dataset.quality):
        for field, problem in _problems_of(rule, declared, dataset_names):
            problems.append((f"quality[{index}]{'.' + field if field else ''}", problem))
    return problems


def _problems_of(rule: QualityRule, declared: set[str] | None, dataset_names: set[str]) -> list[tuple[str, str]]:
    problems = []
    if declared is not None:
        known = declared | set(LINEAGE_COLUMNS)
        for column in rule_columns(rule):
            if column not in known:
                problems.append((_column_field(rule), _unknown_column(column, declared)))
    if isinstance(rule, RegexRule):
        problem = regex_problem(rule.pattern)
        if problem:
            problems.append(("pattern", problem))
    if isinstance(rule, (RangeRule, RowCountRule)):
        problem = _bounds_problem(rule.min, rule.max)
        if problem:
            problems.append(("min", problem))
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


def _column_field(rule: QualityRule) -> str:
    if rule.rule == "schema":
        return "expected"
    return "columns" if getattr(rule, "columns", None) else "column"


def _unknown_column(column: str, declared: set[str]) -> str:
    return f"unknown column {column!r}; the transform declares {', '.join(sorted(declared))}."


def _bounds_problem(low: object, high: object) -> str | None:
    if low is None or high is None:
        return None
    try:
        inverted = low > high  # type: ignore[operator]
    except TypeError:
        return f"min {low!r} and max {high!r} are not comparable; give both as numbers, or both as dates."
    return f"min {low!r} is greater than max {high!r}; swap them." if inverted else None
