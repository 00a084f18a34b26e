"""unique (also spelled duplicates): no two rows share the key, or at most `max_duplicate_percent` of them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from etl_assets.quality.rule_types.base import RowRuleType, RuleBase
from etl_assets.quality.window import RowFlag, Window


class UniqueRule(RuleBase):
    """`unique` and `duplicates` are the same check: rows whose key appears more than once fail."""

    rule: Literal["unique", "duplicates"]
    column: str | None = None
    columns: list[str] | None = Field(default=None, min_length=1)
    max_duplicate_percent: float = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _one_key_form(self) -> UniqueRule:
        if (self.column is None) == (self.columns is None):
            raise ValueError("give either 'column: NAME' or 'columns: [NAME, ...]'")
        return self

    @property
    def key_columns(self) -> list[str]:
        return [self.column] if self.column is not None else list(self.columns or [])


class Unique(RowRuleType[UniqueRule]):
    model = UniqueRule

    def columns(self) -> list[str]:
        return self.rule.key_columns

    def column_field(self) -> str:
        return "columns" if self.rule.columns else "column"

    def demands(self) -> str:
        allowance = f" (up to {self.rule.max_duplicate_percent:g}% of rows may repeat)" if self.rule.max_duplicate_percent else ""
        keys = self.rule.key_columns
        return f"{', '.join(keys)} {'is' if len(keys) == 1 else 'are'} unique{allowance}"

    def row_flag(self, window: Window) -> RowFlag:
        # A key with a null part is not a duplicate: not_null rules speak for nulls. The repeated keys come from one
        # GROUP BY, which takes a third of the time (and less memory) of a window function over every row.
        keys = [window.column(column) for column in self.rule.key_columns]
        complete = " AND ".join(f"{key} IS NOT NULL" for key in keys)
        key = keys[0] if len(keys) == 1 else f"({', '.join(keys)})"
        repeated = f"SELECT {key} FROM {window.read_as(window.view_name('keys'))} GROUP BY {', '.join(keys)} HAVING count(*) > 1"
        return RowFlag(f"({complete} AND {key} IN ({repeated}))")

    def allowed_percent(self) -> float:
        return self.rule.max_duplicate_percent
