"""freshness: the newest value of a date or time column is at most `max_age` old when the window is checked."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from pydantic import field_validator

from etl_assets.quality.rule_types.base import DURATION, DURATION_UNITS, RuleBase, WindowRuleType
from etl_assets.quality.sql import type_family
from etl_assets.quality.window import Verdict, Window, WindowFacts


class FreshnessRule(RuleBase):
    """The newest value of `column` is at most `max_age` old (such as 90m, 36h, 2d, 1w)."""

    row_level: ClassVar[bool] = False

    rule: Literal["freshness"]
    column: str
    max_age: str

    @field_validator("max_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if not isinstance(value, str) or not DURATION.match(value):
            raise ValueError(f"got {value!r}; use a number and a unit such as 90m, 36h, 2d or 1w")
        return value.strip()

    @property
    def max_age_delta(self) -> dt.timedelta:
        match = DURATION.match(self.max_age)
        assert match is not None
        return dt.timedelta(**{DURATION_UNITS[match[2]]: int(match[1])})


class Freshness(WindowRuleType[FreshnessRule]):
    model = FreshnessRule

    def demands(self) -> str:
        return f"the newest {self.rule.column} is at most {self.rule.max_age} old"

    def aggregate(self, window: Window) -> str | None:
        """The newest value, for a column that holds dates or times."""
        if type_family(window.types.get(self.rule.column, "")) != "moment":
            return None
        return f"max({window.column(self.rule.column)})"

    def verdict(self, facts: WindowFacts, aggregate: Any) -> Verdict:
        column, newest = self.rule.column, aggregate
        oldest_allowed = _as_moment(facts.now) - self.rule.max_age_delta
        if column in facts.types and type_family(facts.types[column]) != "moment":
            return Verdict.of(False, (
                f"{column} holds {facts.types[column]} values, not dates or timestamps; "
                "point the freshness rule at a date or timestamp column."
            ))
        if newest is None:
            return Verdict.of(False, f"{column} has no values, so the window is not fresh")
        moment = _as_moment(newest)
        if moment is None:
            return Verdict.of(False, f"{column} holds {type(newest).__name__} values, not dates or timestamps")
        passed = moment >= oldest_allowed
        return Verdict.of(passed, f"newest {column} is {newest}; must be at or after {oldest_allowed}")


def _as_moment(value: Any) -> dt.datetime | None:
    """A date counts as its day's end: a daily value is as fresh as the last moment it covers."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return None
