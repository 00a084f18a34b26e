"""A rule type is one module of quality/rule_types: its config model and its behaviour, found without a list."""

from __future__ import annotations

import pkgutil

import etl_assets.quality.rule_types as rule_types
from etl_assets.config.models import RULE_MODELS
from etl_assets.quality.rule_types import RULE_TYPES, SHARED_MODULES
from etl_assets.quality.rule_types.base import RowRuleType


def test_each_rule_module_holds_one_rule_type_and_its_own_model():
    modules = sorted(info.name for info in pkgutil.iter_modules(rule_types.__path__) if info.name not in SHARED_MODULES)
    assert [kind.__module__.rsplit(".", 1)[1] for kind in RULE_TYPES] == modules
    assert all(kind.model.__module__ == kind.__module__ for kind in RULE_TYPES)


def test_the_config_parses_every_rule_name_with_the_model_of_its_module():
    by_model = {kind.model: kind for kind in RULE_TYPES}
    assert set(RULE_MODELS) == {"not_null", "unique", "duplicates", "regex", "range", "accepted_values", "references", "row_count", "schema", "freshness"}
    assert all(model in by_model for model in RULE_MODELS.values())


def test_row_level_rule_types_are_the_row_level_models():
    assert all(issubclass(kind, RowRuleType) == kind.model.row_level for kind in RULE_TYPES)
