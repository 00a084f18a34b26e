"""What a quality rule is called as an asset check, and how it reads in one line."""

from __future__ import annotations

from collections.abc import Sequence

from etl_assets.config.models import (
    AcceptedValuesRule,
    FreshnessRule,
    NotNullRule,
    QualityRule,
    RangeRule,
    ReferencesRule,
    RegexRule,
    RowCountRule,
    SchemaRule,
    UniqueRule,
)

LONGEST_VALUE_LIST = 5


def rule_columns(rule: QualityRule) -> list[str]:
    """The window's columns a rule looks at (none for row_count; the expected ones for schema)."""
    if isinstance(rule, UniqueRule):
        return rule.key_columns
    if isinstance(rule, SchemaRule):
        return list(rule.expected)
    if isinstance(rule, RowCountRule):
        return []
    return [rule.column]


def check_name(rule: QualityRule) -> str:
    """`<rule>_<column>`, columns joined by `_`; `row_count` and `schema` stand alone."""
    if isinstance(rule, (RowCountRule, SchemaRule)):
        return rule.rule
    return "_".join([rule.rule, *rule_columns(rule)])


def check_names(rules: Sequence[QualityRule]) -> list[str]:
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


def describe(rule: QualityRule) -> str:
    """The rule's own description, or one line saying what it demands."""
    return rule.description or _what_it_demands(rule)


def _what_it_demands(rule: QualityRule) -> str:
    if isinstance(rule, NotNullRule):
        allowance = f" (up to {rule.max_null_percent:g}% may be)" if rule.max_null_percent else ""
        return f"{rule.column} is not null{allowance}"
    if isinstance(rule, UniqueRule):
        allowance = f" (up to {rule.max_duplicate_percent:g}% of rows may repeat)" if rule.max_duplicate_percent else ""
        return f"{', '.join(rule.key_columns)} {'is' if len(rule.key_columns) == 1 else 'are'} unique{allowance}"
    if isinstance(rule, RegexRule):
        return f"{rule.column} matches {rule.pattern}"
    if isinstance(rule, RangeRule):
        return f"{rule.column} {_bounds(rule.min, rule.max)}"
    if isinstance(rule, AcceptedValuesRule):
        shown = ", ".join(str(value) for value in rule.values[:LONGEST_VALUE_LIST])
        more = f" and {len(rule.values) - LONGEST_VALUE_LIST} more" if len(rule.values) > LONGEST_VALUE_LIST else ""
        return f"{rule.column} is one of {shown}{more}"
    if isinstance(rule, ReferencesRule):
        return f"{rule.column} exists in {rule.dataset}.{rule.key}"
    if isinstance(rule, RowCountRule):
        return f"the window has {_bounds(rule.min, rule.max)} rows"
    if isinstance(rule, SchemaRule):
        return "columns and types are " + ", ".join(f"{column} {kind}" for column, kind in rule.expected.items())
    assert isinstance(rule, FreshnessRule)
    return f"the newest {rule.column} is at most {rule.max_age} old"


def _bounds(low: object, high: object) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f">= {low}" if low is not None else f"<= {high}"
