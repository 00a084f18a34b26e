"""What a quality rule is called as an asset check, and how it reads in one line."""

from __future__ import annotations

from collections.abc import Sequence

from etl_assets.quality.rule_types.base import RuleBase
from etl_assets.quality.rule_types import rule_type


def check_name(rule: RuleBase) -> str:
    """`<rule>_<column>`, columns joined by `_`; `row_count` and `schema` stand alone."""
    return rule_type(rule).check_name()


def check_names(rules: Sequence[RuleBase]) -> list[str]:
    """Each rule's check name, with `_2`, `_3`... added where a dataset has two rules of one name."""
    names: list[str] = []
    for rule in rules:
        base = check_name(rule)
        name, suffix = base, 1
        while name in names:
            suffix += 1
            name = f"{base}_{suffix}"
        names.append(name)
    return names


def describe(rule: RuleBase) -> str:
    """The rule's own description, or one line saying what it demands."""
    return rule_type(rule).describe()
