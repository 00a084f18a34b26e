"""Bounds on what a config may expand to, so a small file cannot make validation take minutes or gigabytes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

# A real config nests fewer than 10 levels.
MAX_DEPTH = 64
# The YAML as written, each alias counted as the values it repeats.
MAX_YAML_VALUES = 100_000
# The datasets with defaults, templates and variables layered in: those repeat in every dataset that uses them.
MAX_LAYERED_VALUES = 1_000_000


class LimitExceeded(Exception):
    """A bound was passed: `problem` is the sentence to show; `mark` or `dataset` say where, when known."""

    def __init__(self, problem: str, mark: yaml.Mark | None = None, dataset: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.mark = mark
        self.dataset = dataset


@dataclass
class _Collection:
    anchor: str | None
    size: int = 1
    height: int = 1


@dataclass
class _YamlMeasure:
    """Values and depth counted from parser events, before any Python object is built from them."""

    anchors: dict[str, tuple[int, int]] = field(default_factory=dict)
    open: list[_Collection] = field(default_factory=list)
    total: int = 0

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.CollectionStartEvent):
            self._check_depth(len(self.open) + 1, event)
            self.open.append(_Collection(event.anchor))
            self._count(1, event)
        elif isinstance(event, yaml.CollectionEndEvent):
            finished = self.open.pop()
            self._remember(finished.anchor, finished.size, finished.height)
            self._add_to_parent(finished.size, finished.height)
        elif isinstance(event, yaml.ScalarEvent):
            self._remember(event.anchor, 1, 0)
            self._count(1, event)
            self._add_to_parent(1, 0)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)

    def _alias(self, event: yaml.AliasEvent) -> None:
        if any(collection.anchor == event.anchor for collection in self.open):
            raise LimitExceeded(
                f"the alias *{event.anchor} sits inside the collection it names, so it would never end; "
                "write the values out instead.",
                event.start_mark,
            )
        # An alias to an unknown anchor is left for the YAML loader to report.
        size, height = self.anchors.get(event.anchor or "", (0, 0))
        self._check_depth(len(self.open) + height, event)
        self._count(size, event)
        self._add_to_parent(size, height)

    def _remember(self, anchor: str | None, size: int, height: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (size, height)

    def _add_to_parent(self, size: int, height: int) -> None:
        if self.open:
            parent = self.open[-1]
            parent.size += size
            parent.height = max(parent.height, height + 1)

    def _count(self, size: int, event: yaml.Event) -> None:
        self.total += size
        if self.total <= MAX_YAML_VALUES:
            return
        if isinstance(event, yaml.AliasEvent):
            problem = (
                f"the aliases (*name) expand the YAML to more than {MAX_YAML_VALUES:,} values by here; "
                "use fewer aliases of large anchors (&name)."
            )
        else:
            problem = (
                f"the YAML holds more than {MAX_YAML_VALUES:,} values by here; "
                "a config needs far fewer, so split it or remove what is not used."
            )
        raise LimitExceeded(problem, event.start_mark)

    @staticmethod
    def _check_depth(depth: int, event: yaml.Event) -> None:
        if depth > MAX_DEPTH:
            raise LimitExceeded(
                f"the YAML nests more than {MAX_DEPTH} levels deep here; a config needs far fewer, so flatten it.",
                event.start_mark,
            )


def check_yaml(text: str) -> None:
    """Raise LimitExceeded if `text` nests too deep or expands, through its aliases, to too many values.

    It reads the events of the loader's own parser, so both see the same document; invalid YAML is left to the
    loader, which reports it in its own words before it builds anything.
    """
    measure = _YamlMeasure()
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            measure.feed(event)
    except yaml.YAMLError:
        return


def check_layered(datasets: Mapping[Any, Any]) -> None:
    """Raise LimitExceeded, naming the dataset, if the layered datasets expand too deep or to too many values."""
    sizes: dict[int, tuple[int, int]] = {}
    total = 0
    for name, dataset in datasets.items():
        try:
            total += _measure(dataset, 1, sizes)[0]
        except LimitExceeded as exc:
            raise LimitExceeded(exc.problem, dataset=name) from None
        if total > MAX_LAYERED_VALUES:
            raise LimitExceeded(
                f"brings the datasets, with their defaults, templates and variables layered in, past "
                f"{MAX_LAYERED_VALUES:,} values; use large variables and templates fewer times.",
                dataset=name,
            )


def _measure(value: Any, depth: int, sizes: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(values, height) of `value`, each shared list or mapping measured once, so the work stays linear."""
    if not isinstance(value, (dict, list)):
        return 1, 0
    if id(value) not in sizes:
        if depth > MAX_DEPTH:
            raise _too_deep()
        children = [_measure(item, depth + 1, sizes) for item in (value.values() if isinstance(value, dict) else value)]
        height = 1 + max((child_height for _, child_height in children), default=0)
        sizes[id(value)] = (1 + sum(size for size, _ in children), height)
    size, height = sizes[id(value)]
    if depth - 1 + height > MAX_DEPTH:
        raise _too_deep()
    return size, height


def _too_deep() -> LimitExceeded:
    return LimitExceeded(
        f"nests more than {MAX_DEPTH} levels deep through variables; a config needs far fewer, so flatten it."
    )
