"""Transform targets and load columns that validate as names but would be dropped or mixed up by the load."""

from __future__ import annotations

from etl_assets.config.collisions import repeats
from etl_assets.config.columns import LOADABLE_ADDED_COLUMNS, RESERVED_COLUMNS, is_reserved
from etl_assets.config.models import DatasetConfig

Problem = tuple[str, str]


def target_problems(dataset: DatasetConfig) -> list[Problem]:
    """(field such as `load.keys`, one-sentence problem) for each target or load column the load would get wrong."""
    if dataset.transform is None or not dataset.transform.columns:
        return []  # the rows' columns are known only once the upload is profiled
    targets = list(dataset.transform.columns)
    return [*_reserved_targets(targets), *_case_twins(targets), *_unknown_load_columns(dataset, sorted(targets))]


def _reserved_targets(targets: list[str]) -> list[Problem]:
    return [
        (
            f"transform.columns.{name}",
            f"{name!r} is reserved for a column the pipeline adds ({', '.join(RESERVED_COLUMNS)}), "
            "so a target of that name would be dropped or overwritten; rename the target.",
        )
        for name in targets
        if is_reserved(name)
    ]


def _case_twins(targets: list[str]) -> list[Problem]:
    return [
        (
            "transform.columns",
            f"the targets {twin!r} and {name!r} differ only by case, and Snowflake's COPY matches columns "
            "without regard to case, so one would load the other's values; rename one of them.",
        )
        for name, twin, _ in repeats({name: name.lower() for name in targets})
    ]


def _unknown_load_columns(dataset: DatasetConfig, targets: list[str]) -> list[Problem]:
    allowed = {*targets, *LOADABLE_ADDED_COLUMNS}
    named = [("keys", key) for key in dataset.load.keys or []]
    if dataset.load.sequence_by is not None:
        named.append(("sequence_by", dataset.load.sequence_by))
    return [
        (
            f"load.{field}",
            f"unknown column {column!r}; use one of the transform's targets ({', '.join(targets)}) "
            f"or {', '.join(LOADABLE_ADDED_COLUMNS)}.",
        )
        for field, column in named
        if column not in allowed
    ]
