"""Inclusive `min`/`max` bounds, as range and row_count rules write them: one line to say them, and their mistakes."""

from __future__ import annotations

import datetime as dt

from etl_assets.quality.rule_types.base import Problem


def bounds_text(low: object, high: object) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f">= {low}" if low is not None else f"<= {high}"


def bounds_problems(low: object, high: object) -> list[Problem]:
    """A min above the max, or two bounds that cannot be compared, reported at `min`."""
    if low is None or high is None:
        return []
    try:
        inverted = _comparable(low) > _comparable(high)  # type: ignore[operator]
    except TypeError:
        return [("min", f"min {low!r} and max {high!r} are not comparable; give both as numbers, or both as dates.")]
    return [("min", f"min {low!r} is greater than max {high!r}; swap them.")] if inverted else []


def _comparable(bound: object) -> object:
    """A date as midnight of that day, so it compares with a time as DuckDB compares them."""
    if isinstance(bound, dt.date) and not isinstance(bound, dt.datetime):
        return dt.datetime.combine(bound, dt.time())
    return bound
