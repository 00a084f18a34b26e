"""One module per quality rule type, each owning its config model, columns, check name, description, SQL and validation.

A new rule type is one new module here: its pydantic model (a RuleBase) and its behaviour (a RuleType naming that
model). Every module of this package is found and imported below, so nothing else lists the rule types.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from etl_assets.quality.rule_types.base import RuleBase, RuleType

SHARED_MODULES = ("base", "bounds")


def _discovered() -> tuple[type[RuleType], ...]:
    found = []
    for module in sorted(info.name for info in pkgutil.iter_modules(__path__) if info.name not in SHARED_MODULES):
        members = vars(importlib.import_module(f"{__name__}.{module}")).values()
        # a module's own concrete RuleType; the bases it imports are defined in base.py, so they never match
        found += [
            member
            for member in members
            if inspect.isclass(member) and issubclass(member, RuleType) and member.__module__ == f"{__name__}.{module}"
            and not inspect.isabstract(member)
        ]  # fmt: skip
    return tuple(found)


RULE_TYPES = _discovered()
# The config models of every rule type: the names users write, the model that parses each and the union derive from it.
RULE_CLASSES: tuple[type[RuleBase], ...] = tuple(kind.model for kind in RULE_TYPES)
_BY_MODEL = {kind.model: kind for kind in RULE_TYPES}


def rule_type(rule: RuleBase) -> RuleType:
    """The behaviour of `rule`'s type, bound to the rule."""
    return _BY_MODEL[type(rule)](rule)
