"""schema: the window's columns exist with the types given in the vocabulary of transform.columns."""

from __future__ import annotations

from typing import Any

from etl_assets.config.models import SchemaRule
from etl_assets.quality.rule_types.base import WindowRuleType
from etl_assets.quality.schema import schema_mismatches
from etl_assets.quality.window import Verdict, WindowFacts


class Schema(WindowRuleType[SchemaRule]):
    model = SchemaRule

    def columns(self) -> list[str]:
        return list(self.rule.expected)

    def column_field(self) -> str:
        return "expected"

    def check_name(self) -> str:
        return self.rule.rule

    def demands(self) -> str:
        return "columns and types are " + ", ".join(f"{column} {kind}" for column, kind in self.rule.expected.items())

    def verdict(self, facts: WindowFacts, aggregate: Any) -> Verdict:
        mismatches = schema_mismatches(facts.schema, self.rule.expected)
        return Verdict(not mismatches, len(mismatches), "; ".join(mismatches) or "every expected column has its type")
