"""schema: the window's columns exist with the types given in the vocabulary of transform.columns."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from etl_assets.column_types import normalised_type
from etl_assets.quality.rule_types.base import RuleBase, WindowRuleType
from etl_assets.quality.schema import schema_mismatches
from etl_assets.quality.window import Verdict, WindowFacts


class SchemaRule(RuleBase):
    """The window's columns and their types, in the vocabulary of transform.columns."""

    row_level: ClassVar[bool] = False

    rule: Literal["schema"]
    expected: dict[str, str] = Field(min_length=1)

    @field_validator("expected")
    @classmethod
    def _known_types(cls, value: dict[str, str]) -> dict[str, str]:
        return {column: normalised_type(kind) for column, kind in value.items()}


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
