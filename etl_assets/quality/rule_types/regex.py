"""regex: the column's text matches the pattern, which must be valid in Python and in DuckDB's RE2."""

from __future__ import annotations

import functools
import re
from typing import Literal

import duckdb

from etl_assets.quality.rule_types.base import DatasetFacts, Problem, RowRuleType, RuleBase
from etl_assets.quality.window import RowFlag, Window
from etl_assets.sql_text import literal


class RegexRule(RuleBase):
    rule: Literal["regex"]
    column: str
    pattern: str


class Regex(RowRuleType[RegexRule]):
    model = RegexRule

    def demands(self) -> str:
        return f"{self.rule.column} matches {self.rule.pattern}"

    def own_problems(self, dataset: DatasetFacts) -> list[Problem]:
        problem = regex_problem(self.rule.pattern)
        return [("pattern", problem)] if problem else []

    def row_flag(self, window: Window) -> RowFlag:
        problem = regex_problem(self.rule.pattern)
        if problem:
            return RowFlag("false", problem)
        return RowFlag(f"NOT regexp_matches(CAST({window.column(self.rule.column)} AS VARCHAR), {literal(self.rule.pattern)})")


# A pattern's validity never changes, so each is tried once per process rather than once per window.
@functools.lru_cache(maxsize=256)
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
