"""Layering a dataset: defaults < templates (through `extends`) < the dataset; mappings merge, lists replace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from etl_assets.config.problems import Location


def deep_merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """The layers merged left to right into a new mapping; the inputs are never changed."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = deep_merge(merged[key], value)
            else:
                merged[key] = value
    return merged


def template_chain(name: Any, templates: Mapping[str, Mapping[str, Any]], where: Location) -> list[dict[str, Any]]:
    """The templates `name` stands for, most general first, each without its own `extends`."""
    chain: list[dict[str, Any]] = []
    followed: list[str] = []
    while name is not None:
        if not isinstance(name, str):
            raise where.error(f"got {name!r}; give the name of one template.")
        if name in followed:
            cycle = " -> ".join([*followed[followed.index(name) :], name])
            raise where.error(f"templates extend each other in a cycle ({cycle}); remove one of these `extends`.")
        if name not in templates:
            known = ", ".join(templates) or "none are defined"
            raise where.error(f"there is no template {name!r}; known templates: {known}.")
        followed.append(name)
        template = templates[name]
        chain.append({key: value for key, value in template.items() if key != "extends"})
        name = template.get("extends")
        where = Location(where.file, f"template '{followed[-1]}'", ("extends",))
    return chain[::-1]
