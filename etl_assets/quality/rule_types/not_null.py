"""not_null: no row has a null in the column, or at most `max_null_percent` of them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from etl_assets.quality.rule_types.base import RowRuleType, RuleBase
from etl_assets.quality.window import RowFlag, Window


class NotNullRule(RuleBase):
    rule: Literal["not_null"]
    column: str
    max_null_percent: float = Field(default=0, ge=0, le=100)


class NotNull(RowRuleType[NotNullRule]):
    model = NotNullRule

    def demands(self) -> str:
        allowance = f" (up to {self.rule.max_null_percent:g}% may be)" if self.rule.max_null_percent else ""
        return f"{self.rule.column} is not null{allowance}"

    def row_flag(self, window: Window) -> RowFlag:
        return RowFlag(f"{window.column(self.rule.column)} IS NULL")

    def allowed_percent(self) -> float:
        return self.rule.max_null_percent
