"""One class per quality rule type, each owning its columns, check name, description, SQL and validation.

A new rule type is its config model in etl_assets/config/models.py (with its entry in RULE_CLASSES), one module
here, and its line in RULE_TYPES.
"""

from __future__ import annotations

from etl_assets.config.models import RuleBase
from etl_assets.quality.rule_types.accepted_values import AcceptedValues
from etl_assets.quality.rule_types.base import RuleType
from etl_assets.quality.rule_types.freshness import Freshness
from etl_assets.quality.rule_types.not_null import NotNull
from etl_assets.quality.rule_types.range import Range
from etl_assets.quality.rule_types.references import References
from etl_assets.quality.rule_types.regex import Regex
from etl_assets.quality.rule_types.row_count import RowCount
from etl_assets.quality.rule_types.schema import Schema
from etl_assets.quality.rule_types.unique import Unique

RULE_TYPES: tuple[type[RuleType], ...] = (NotNull, Unique, Regex, Range, AcceptedValues, References, RowCount, Schema, Freshness)
_BY_MODEL = {kind.model: kind for kind in RULE_TYPES}


def rule_type(rule: RuleBase) -> RuleType:
    """The behaviour of `rule`'s type, bound to the rule."""
    return _BY_MODEL[type(rule)](rule)
