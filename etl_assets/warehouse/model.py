"""The load's data types: what a window load is asked to do and what it did. Imports nothing of the package."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

Strategy = Literal["append", "merge", "truncate_insert", "replace_window"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)


@dataclass(frozen=True)
class SchemaChanges:
    """What schema sync changed in the target table."""

    created: bool = False
    added: list[str] = field(default_factory=list)
    widened: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadRequest:
    """One window of one dataset to load into a Snowflake table."""

    database: str
    schema: str
    table: str
    strategy: Strategy
    keys: list[str]
    window_key: str
    window_start: dt.datetime
    window_end: dt.datetime
    run_id: str
    parquet_path: Path
    dataset: str = ""
    # merge: the column whose higher value marks the newer version of a row
    sequence_by: str | None = None
    # run the strategy even without rows (replace_window then empties the window); otherwise nothing is loaded
    load_empty: bool = False
    # positions of rows of parquet_path that are not loaded (quarantined), in a file of excluded_rows.py
    excluded_rows: Path | None = None


@dataclass(frozen=True)
class LoadResult:
    """What a load did to the target table; `skipped` says why nothing was loaded, when nothing was."""

    rows_staged: int
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    rows_in_window: int
    strategy: str
    keys: list[str] = field(default_factory=list)
    schema_changes: SchemaChanges = field(default_factory=SchemaChanges)
    load_id: str | None = None
    # merge: staged rows left as they were because the table holds a newer version of them
    rows_superseded: int = 0
    # merge: rows this window took over from other windows, by their window start
    rows_taken_from: dict[dt.datetime, int] = field(default_factory=dict)
    skipped: str | None = None
    # True when this run had already loaded the window (a retry of the same run), so nothing was done again
    already_loaded: bool = False
    # rows of the window carrying this run's id, counted inside the load's transaction; None when it ran none
    rows_written_by_run: int | None = None
    # merge: the distinct keys of the window's file (but its excluded rows), when the load counted them there
    distinct_keys: int | None = None


@dataclass(frozen=True)
class Reconciliation:
    """Rows the load was handed for a window against the rows the table holds for it.

    A merge leaves out staged rows whose newer version the table already holds (`superseded`); a window whose rows
    were taken over by an older window (`taken_from_newer`, by window start) has lost rows it loaded.
    """

    window_key: str
    expected: int
    found: int
    superseded: int = 0
    taken_from_newer: dict[str, int] = field(default_factory=dict)

    @property
    def matches(self) -> bool:
        return self.expected == self.found + self.superseded and not self.taken_from_newer


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A window bound in UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
