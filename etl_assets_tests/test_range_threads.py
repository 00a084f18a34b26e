"""A range's small windows run side by side with their results in order; a big one makes them run one at a time."""

import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets import range_threads
from etl_assets.range_threads import SMALL_WINDOW_ROWS, in_order, parquet_rows


class Tracked:
    """Work that sleeps, later items shorter, and records how many items ran at once and which started."""

    def __init__(self, fail_at: int | None = None):
        self.lock, self.running, self.most, self.started = threading.Lock(), 0, 0, []
        self.fail_at = fail_at

    def __call__(self, item: int) -> int:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.started.append(item)
        try:
            time.sleep(0.02 * (10 - item % 10))
            if item == self.fail_at:
                raise ValueError(f"window {item} failed")
            return item * 10
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture(autouse=True)
def two_cores(monkeypatch):
    monkeypatch.setattr(range_threads.os, "cpu_count", lambda: 2)


def test_small_windows_run_two_at_a_time_and_come_back_in_order():
    work = Tracked()
    assert list(in_order(work, list(range(8)), lambda item: 3)) == [n * 10 for n in range(8)]
    assert work.most == 2


def test_a_big_window_makes_the_range_run_one_window_at_a_time():
    work = Tracked()
    rows = {3: SMALL_WINDOW_ROWS + 1}
    assert list(in_order(work, list(range(6)), lambda item: rows.get(item, 3))) == [n * 10 for n in range(6)]
    assert work.most == 1


def test_a_failure_is_raised_in_its_turn_and_windows_far_after_it_never_start():
    work = Tracked(fail_at=2)
    results = []
    with pytest.raises(ValueError, match="window 2 failed"):
        for result in in_order(work, list(range(30)), lambda item: 3):
            results.append(result)
    assert results == [0, 10]
    # at most the two running and the two queued behind them had started
    assert max(work.started) <= 5


def test_parquet_rows_reads_the_footer_and_counts_an_unreadable_file_as_big(tmp_path):
    pq.write_table(pa.table({"n": list(range(7))}), tmp_path / "w.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    assert parquet_rows(tmp_path / "w.parquet") == 7
    assert parquet_rows(tmp_path / "bad.parquet") > SMALL_WINDOW_ROWS
    assert parquet_rows(tmp_path / "missing.parquet") > SMALL_WINDOW_ROWS
