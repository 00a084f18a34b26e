"""Two processes splitting the same window at once (a retried run beside the first) both finish with whole files."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path

import pyarrow.parquet as pq

import pytest
from etl_assets.excluded_rows import kept_count
from etl_assets.quality.evaluate import WindowQuality, evaluate_window, quarantine_window
from etl_assets.quality.rules import check_names
from etl_assets_tests.quality.conftest import rules

NOW = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
RULES = ({"rule": "range", "column": "net", "min": 0, "action": "quarantine"},)
ROWS = 200_000
SPLITS_EACH = 15
WRITERS = 2


def split_repeatedly(start: multiprocessing.synchronize.Barrier, window: Path, quality: WindowQuality, out: Path) -> None:
    parsed = rules(*RULES)
    start.wait()
    for _ in range(SPLITS_EACH):
        quarantine_window(
            window, quality, parsed, check_names(parsed), kept_path=out / "kept.parquet", quarantine_path=out / "quarantine.parquet",
            excluded_path=out / "excluded.parquet",
        )  # fmt: skip


@pytest.mark.slow
def test_two_processes_writing_the_same_outputs_both_succeed_and_leave_whole_files(window, tmp_path):
    path = window({"id": list(range(ROWS)), "net": [-1 if row % 10 == 0 else row for row in range(ROWS)]})
    parsed = rules(*RULES)
    quality = evaluate_window(path, parsed, names=check_names(parsed), now=NOW)
    out = tmp_path / "out"
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    writers = [context.Process(target=split_repeatedly, args=(start, path, quality, out)) for _ in range(WRITERS)]

    try:
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=120)
        assert [writer.exitcode for writer in writers] == [0] * WRITERS, "each writer finishes without an error"
    finally:
        for writer in writers:
            if writer.is_alive():
                writer.kill()
                writer.join()

    assert kept_count(out / "kept.parquet", out / "excluded.parquet") == ROWS - ROWS // 10
    assert pq.read_table(out / "quarantine.parquet").num_rows == ROWS // 10
    assert sorted(file.name for file in out.iterdir()) == ["excluded.parquet", "kept.parquet", "quarantine.parquet"], "no temp file is left"
