"""Load keys when none are configured (docs/architecture.md §5): window + primary key, else week_start, else a date column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from etl_assets.config.columns import WINDOW_COLUMNS
from etl_assets.profiling.id_columns import NEVER_KEY_TYPES, key_rank
from etl_assets.profiling.model import Profile

WEEK_START = "week_start"
DATE_TYPES = ("date", "timestamp")


@dataclass(frozen=True)
class ColumnFacts:
    """What key detection needs to know about one column of a window's rows."""

    name: str
    inferred_type: str
    null_count: int
    distinct_count: int
    row_count: int

    @property
    def is_unique(self) -> bool:
        return self.row_count > 0 and self.null_count == 0 and self.distinct_count == self.row_count


@dataclass(frozen=True)
class KeyChoice:
    """The strategy and keys a load uses, and a sentence saying why."""

    strategy: str
    keys: list[str]
    reason: str


def facts_from_profile(profile: Profile) -> list[ColumnFacts]:
    """The key-detection facts of every profiled column."""
    return [
        ColumnFacts(c.name, c.inferred_type, c.null_count, c.distinct_count, profile.row_count) for c in profile.columns
    ]


def choose_keys(
    configured_keys: Sequence[str],
    strategy: str,
    columns: Sequence[ColumnFacts],
    candidates: Sequence[Sequence[str]] = (),
) -> KeyChoice:
    """Configured keys win; a merge without them uses the detected keys, or replaces the window when there are none.

    `candidates` are the profile's primary-key candidates: a unique pair of columns serves when no single one does.
    """
    if configured_keys:
        return KeyChoice(strategy, list(configured_keys), f"keys {', '.join(configured_keys)} are set in load.keys")
    if strategy != "merge":
        return KeyChoice(strategy, [], f"the {strategy} strategy needs no keys")
    primary = primary_key(columns)
    if primary:
        return KeyChoice(
            "merge",
            [*WINDOW_COLUMNS, primary.name],
            f"no load.keys are set and {primary.name} is unique and never empty in the window, "
            f"so rows merge on the window and {primary.name}",
        )
    pair = next((list(c) for c in candidates if len(c) == 2 and not any(n.startswith("_") or n in WINDOW_COLUMNS for n in c)), None)
    if pair:
        return KeyChoice(
            "merge",
            [*WINDOW_COLUMNS, *pair],
            f"no load.keys are set and no single column is unique, but {pair[0]} + {pair[1]} is, "
            f"so rows merge on the window and that pair",
        )
    period = next((c for c in columns if c.name == WEEK_START), None) or next(
        (c for c in columns if c.inferred_type in DATE_TYPES), None
    )
    if period:
        # not unique (else it would be the primary key), so a MERGE on it would collapse rows into one
        return KeyChoice(
            "replace_window",
            [*WINDOW_COLUMNS, period.name],
            f"no load.keys are set and no column is unique, so rows are keyed by the window and {period.name} "
            f"and the whole window is replaced, which keeps every row",
        )
    return KeyChoice(
        "replace_window", [], "no load.keys are set and no key or date column was found, so the window is replaced"
    )


def primary_key(columns: Sequence[ColumnFacts]) -> ColumnFacts | None:
    """The unique, never-empty column most likely to be the key: names ending in the word id first, then integers and strings."""
    candidates = [
        (index, c)
        for index, c in enumerate(columns)
        if c.is_unique
        and c.inferred_type not in NEVER_KEY_TYPES
        and c.name not in WINDOW_COLUMNS
        and not c.name.startswith("_")
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda item: (key_rank(item[1].name, item[1].inferred_type), item[0]))[1]
