"""accepted_values: the column's values are among a list, each given in the column's own type."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from etl_assets.quality.rule_types.base import RowRuleType, RuleBase
from etl_assets.quality.sql import comparable_value
from etl_assets.quality.window import RowFlag, Window


class AcceptedValuesRule(RuleBase):
    rule: Literal["accepted_values"]
    column: str
    values: list[bool | int | float | str] = Field(min_length=1)


LONGEST_VALUE_LIST = 5


class AcceptedValues(RowRuleType[AcceptedValuesRule]):
    model = AcceptedValuesRule

    def demands(self) -> str:
        values = self.rule.values
        shown = ", ".join(str(value) for value in values[:LONGEST_VALUE_LIST])
        more = f" and {len(values) - LONGEST_VALUE_LIST} more" if len(values) > LONGEST_VALUE_LIST else ""
        return f"{self.rule.column} is one of {shown}{more}"

    def row_flag(self, window: Window) -> RowFlag:
        column_type = window.types[self.rule.column]
        typed = [
            comparable_value(window.connection, "value", "an accepted_values rule", value, self.rule.column, column_type)
            for value in self.rule.values
        ]
        problem = next((problem for _, problem in typed if problem), None)
        if problem:
            return RowFlag("false", problem)
        return RowFlag(f"{window.column(self.rule.column)} NOT IN ({', '.join(sql for sql, _ in typed)})")
