"""A range's per-window work on every core while its windows are small, with the results kept in window order.

A small window's profile or quality check is mostly DuckDB planning its queries, on one core: two windows at
once finish a year of daily windows in about half the time. A big window's scans already use every core, and two
of them would share one DuckDB memory limit, so a range holding one runs its windows one at a time.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pyarrow.parquet as pq

Item = TypeVar("Item")
Result = TypeVar("Result")

# above this many rows a window's work runs alone
SMALL_WINDOW_ROWS = 100_000


def in_order(work: Callable[[Item], Result], items: Sequence[Item], rows: Callable[[Item], int]) -> Iterator[Result]:
    """work(item) for each item, yielded in order; the items run on every core when all of them are small.

    A failure is raised in its item's turn, after the items before it were yielded; items not yet started are
    not started then. `rows(item)` is the item's row count.
    """
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or len(items) < 2 or any(rows(item) > SMALL_WINDOW_ROWS for item in items):
        yield from map(work, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="window") as pool:
        running: deque[Future[Result]] = deque()
        try:
            for item in items:
                running.append(pool.submit(work, item))
                if len(running) > workers:
                    yield running.popleft().result()
            while running:
                yield running.popleft().result()
        finally:
            for future in running:
                future.cancel()


def parquet_rows(path: Path) -> int:
    """The rows a Parquet file's footer counts; a file that cannot be read counts as big, so its window's work
    runs alone and reports the error itself."""
    try:
        return pq.read_metadata(path).num_rows
    except (OSError, ValueError):
        return SMALL_WINDOW_ROWS + 1
