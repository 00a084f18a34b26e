"""range: the column's values lie within inclusive bounds, each given in the column's own type."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import model_validator

from etl_assets.quality.rule_types.base import DatasetFacts, Problem, RowRuleType, RuleBase, RuleValue
from etl_assets.quality.rule_types.bounds import bounds_problems, bounds_text
from etl_assets.quality.sql import comparable_value
from etl_assets.quality.window import RowFlag, Window


class RangeRule(RuleBase):
    """Inclusive bounds; either may be left out."""

    rule: Literal["range"]
    column: str
    min: RuleValue | None = None
    max: RuleValue | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        return self


# PyYAML reads a number such as 1.5e6, whose exponent has no sign, as text.
UNSIGNED_EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE]\d+$")
# What a range bound must be for each family of column types, and how to write one.
BOUND_ADVICE = {
    "number": "give a number such as 0 or 9.5, without quotes",
    "date": "give a date such as 2026-01-01 or a time such as 2026-01-01T06:00, without quotes",
    "text": "give text, in quotes",
}


class Range(RowRuleType[RangeRule]):
    model = RangeRule

    def demands(self) -> str:
        return f"{self.rule.column} {bounds_text(self.rule.min, self.rule.max)}"

    def own_problems(self, dataset: DatasetFacts) -> list[Problem]:
        # Bounds of the wrong type are reported alone: comparing them with each other would say nothing more.
        types = dataset.types
        if types is not None and self.rule.column in types:
            typed = self._type_problems(types[self.rule.column])
            if typed:
                return typed
        return bounds_problems(self.rule.min, self.rule.max)

    def row_flag(self, window: Window) -> RowFlag:
        column = window.column(self.rule.column)
        bounds = [(operator, bound) for operator, bound in (("<", self.rule.min), (">", self.rule.max)) if bound is not None]
        typed = [
            comparable_value(window.connection, "bound", "a range rule", bound, self.rule.column, window.types[self.rule.column])
            for _, bound in bounds
        ]
        problem = next((problem for _, problem in typed if problem), None)
        comparisons = " OR ".join(f"{column} {operator} {sql}" for (operator, _), (sql, _) in zip(bounds, typed))
        return RowFlag("false", problem) if problem else RowFlag(f"({comparisons})")

    def _type_problems(self, column_type: str) -> list[Problem]:
        """A bound DuckDB could not compare with the column would fail the check with a cast error at run time."""
        family = _type_family(column_type)
        if family is None:
            return [
                (
                    "column",
                    f"column {self.rule.column!r} is {column_type}, which has no range; "
                    "use accepted_values, or a range on a number, date, timestamp or string column.",
                )
            ]
        return [
            (name, f"{name} {_shown(bound)} is {_kind_phrase(bound)}, but column {self.rule.column!r} is {column_type}; "
             f"{_advice(family, bound)}.")
            for name, bound in (("min", self.rule.min), ("max", self.rule.max))
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
