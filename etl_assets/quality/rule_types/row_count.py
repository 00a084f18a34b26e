"""row_count: the window has between `min` and `max` rows."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from etl_assets.quality.rule_types.base import DatasetFacts, Problem, RuleBase, WindowRuleType
from etl_assets.quality.rule_types.bounds import bounds_problems, bounds_text
from etl_assets.quality.window import Verdict, WindowFacts


class RowCountRule(RuleBase):
    row_level: ClassVar[bool] = False

    rule: Literal["row_count"]
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _some_bound(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("min") is None and data.get("max") is None:
            raise ValueError("give 'min', 'max' or both")
        return data


class RowCount(WindowRuleType[RowCountRule]):
    model = RowCountRule

    def columns(self) -> list[str]:
        return []

    def check_name(self) -> str:
        return self.rule.rule

    def demands(self) -> str:
        return f"the window has {bounds_text(self.rule.min, self.rule.max)} rows"

    def own_problems(self, dataset: DatasetFacts) -> list[Problem]:
        return bounds_problems(self.rule.min, self.rule.max)

    def verdict(self, facts: WindowFacts, aggregate: Any) -> Verdict:
        rows, low, high = facts.rows_total, self.rule.min, self.rule.max
        passed = (low is None or rows >= low) and (high is None or rows <= high)
        return Verdict.of(passed, f"{rows} rows; {self.describe()}")
