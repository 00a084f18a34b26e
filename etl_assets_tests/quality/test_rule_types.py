"""Every rule type the config accepts has one behaviour class, of the level (row or window) its model declares."""

from __future__ import annotations

from etl_assets.config.models import RULE_CLASSES
from etl_assets.quality.rule_types import RULE_TYPES
from etl_assets.quality.rule_types.base import RowRuleType


def test_each_rule_model_has_exactly_one_rule_type():
    assert sorted(kind.model.__name__ for kind in RULE_TYPES) == sorted(model.__name__ for model in RULE_CLASSES)


def test_row_level_rule_types_are_the_row_level_models():
    assert {kind.model.__name__: issubclass(kind, RowRuleType) for kind in RULE_TYPES} == {
        model.__name__: model.row_level for model in RULE_CLASSES
    }
