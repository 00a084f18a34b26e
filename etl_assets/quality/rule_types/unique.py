"""unique (also spelled duplicates): no two rows share the key, or at most `max_duplicate_percent` of them."""

from __future__ import annotations

from etl_assets.config.models import UniqueRule
from etl_assets.quality.rule_types.base import RowRuleType
from etl_assets.quality.window import RowFlag, Window


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
        # A key with a null part is not a duplicate: not_null rules speak for nulls.
        keys = [window.column(column) for column in self.rule.key_columns]
        complete = " AND ".join(f"{key} IS NOT NULL" for key in keys)
        return RowFlag(f"({complete} AND count(*) OVER (PARTITION BY {', '.join(keys)}) > 1)")

    def allowed_percent(self) -> float:
        return self.rule.max_duplicate_percent
