"""The benchmark's measuring parts on real processes: peak RSS of a process tree, alternation, seeded data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import statistics
import sys
import time

import pytest

from benchmarks.data import OrdersData, write_orders_csv, write_orders_csvs
from benchmarks.measure import ContenderFailed, ContenderTimedOut, Measured, alternate, median_of, run_process
from benchmarks.model import Section, Target
from benchmarks.report import render, wall
from benchmarks.peers import PROJECT_BIN
from benchmarks.runs import CONTENDERS, SharedEmulator, decided_limit, settled_past, settled_when_stopped, stopped_or_done
from benchmarks.scenarios import split_by_day, typed_window
from etl_assets.warehouse.emulator import process_is_alive

pytestmark = pytest.mark.slow

HOLD_MIB = """
import sys, time
block = bytearray(int(sys.argv[1]) * 2**20)
block[::4096] = b"x" * len(block[::4096])
time.sleep(0.3)
"""


def test_the_peak_is_the_largest_process_of_the_tree_even_a_grandchild():
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {HOLD_MIB!r}, '300'], check=True)"

    measured = run_process([sys.executable, "-c", parent])

    assert 300 <= measured.peak_mib < 400, "the grandchild's 300 MiB, not the parent's nor a sum"
    assert measured.seconds >= 0.3


def test_the_peak_is_not_the_harness_own_size():
    # a child forked from a big harness counts the harness's pages until its exec: ru_maxrss would report them
    ballast = bytearray(400 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])

    measured = run_process([sys.executable, "-c", "pass"])

    assert measured.peak_mib < 100
    del ballast


def test_a_contender_that_fails_stops_the_benchmark_with_its_output():
    with pytest.raises(ContenderFailed, match="boom"):
        run_process([sys.executable, "-c", "raise SystemExit('boom')"])


def test_a_contender_past_its_time_limit_is_stopped_with_what_it_used():
    with pytest.raises(ContenderTimedOut, match="ran past") as stopped:
        run_process([sys.executable, "-c", HOLD_MIB.replace("0.3", "30"), "100"], timeout=2)

    assert stopped.value.measured.extra["timed_out"] and stopped.value.measured.seconds >= 2
    assert stopped.value.measured.peak_mib >= 100


def test_contenders_alternate():
    order: list[str] = []

    def contender(name: str):
        return lambda: order.append(name) or Measured(1.0, 1.0, "")

    results = alternate({"a": contender("a"), "b": contender("b")}, runs=3)

    assert order == ["a", "b", "a", "b", "a", "b"]
    assert [len(runs) for runs in results.values()] == [3, 3]


def test_the_data_is_seeded_and_split_over_the_days(tmp_path):
    first = write_orders_csv(tmp_path / "a.csv", 1_000).read_bytes()
    assert write_orders_csv(tmp_path / "b.csv", 1_000).read_bytes() == first
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=n) for n in range(7)]

    files = split_by_day(tmp_path / "a.csv", days, tmp_path / "days")

    rows = [path.read_text().splitlines() for path in files]
    assert all(lines[0] == first.decode().splitlines()[0] for lines in rows)
    assert sum(len(lines) - 1 for lines in rows) == 1_000


def test_the_data_is_quoted_only_where_a_value_needs_it_and_reads_back_whole(tmp_path):
    text = write_orders_csv(tmp_path / "orders.csv", 5_000).read_text()
    lines = text.splitlines()

    records = list(csv.reader(io.StringIO(text)))
    assert len(records) == 5_001 and {len(record) for record in records} == {9}
    header, *rows = records
    assert lines[0] == ",".join(header), "the header needs no quotes, so it has none"
    quoted = [line for line in lines[1:] if '"' in line]
    # some notes need quotes (a comma, half of them a quoted word too); every other line goes without
    assert 0.05 < len(quoted) / len(rows) < 0.25
    notes = [row[8] for row in rows]
    assert any("," in note and '"' in note for note in notes) and any("," in note and '"' not in note for note in notes)
    assert all("," in row[8] or '"' in row[8] for row, line in zip(rows, lines[1:]) if '"' in line)
    assert "cancelled " in {row[4] for row in rows}, "a trailing space is data, kept without quotes"


def test_a_missed_target_is_printed_as_miss():
    section = Section("s", ["a"], [["1"]], [Target("fast", False, "2×"), Target("light", True, "0.4×")])

    text = render([section], {}, "Results", [])

    assert "| fast | 2× | **miss** |" in text and "| light | 0.4× | pass |" in text



def test_the_overall_targets_follow_the_sections_targets():
    section = Section("s", ["a"], [["1"]], [Target("fast", True, "1×")])

    text = render([section], {}, "Results", [], [Target("the full benchmark ≤ 20 min", False, "31.0 min")])

    assert text.index("| fast |") < text.index("| the full benchmark ≤ 20 min | 31.0 min | **miss** |")


@pytest.mark.parametrize("runs", [3, 4, 5])
def test_a_row_by_row_peer_stopped_at_its_limit_has_decided_its_ratio(runs):
    # ours runs first in each round; a peer stopped every time, or skipped once its runs settle it, still shows at
    # least `times` our median
    rng = random.Random(runs)
    skipped = 0
    for _ in range(200):
        ours: list[float] = []

        def peer() -> Measured:
            limit = decided_limit(ours, 100, timeout=10_000)
            return Measured(limit, 1.0, "", {"timed_out": True})

        def our_run() -> Measured:
            ours.append(rng.uniform(1, 10))
            return Measured(ours[-1], 1.0, "")

        results = alternate({"ours": our_run, "peer": peer}, runs, {"peer": settled_past(ours, "peer", runs, 100)})
        skipped += sum(run.extra.get("skipped", False) for run in results["peer"])
        assert median_of(results["peer"], "seconds") >= 100 * statistics.median(ours) - 1e-9  # float rounding of a mean
    assert skipped > 100  # the headroom settles most peers after a majority of stopped runs
    assert decided_limit([2.0, 3.0], 100, timeout=120) == 120


def test_a_skipped_run_counts_as_no_time_and_no_memory():
    runs = [Measured(10.0, 100.0, ""), Measured(12.0, 300.0, ""), Measured(0.0, 0.0, "", {"skipped": True, "timed_out": True})]

    assert median_of(runs, "seconds") == 10.0  # the lower bound: the skipped run might have been quick
    assert median_of(runs, "peak_mib") == 200.0  # the runs made, not a made-up 0 MiB


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_stopped_run_leaves_no_statement_running_beside_the_next_contender(tmp_path):
    """executemany stopped mid-INSERT: its emulator would parse on for minutes, so the harness gives it a new one."""
    window = typed_window(write_orders_csv(tmp_path / "rows.csv", 20_000), tmp_path / "rows.parquet")
    with SharedEmulator(tmp_path / "warehouse", "ROWS_DB.RAW") as warehouse:
        kept = warehouse.measured(lambda: Measured(0.1, 1.0, ""))
        first = warehouse.pid
        assert kept.extra["emulator_mib"] > 0
        command = [str(PROJECT_BIN / "python"), str(CONTENDERS / "executemany_load.py"), str(window), str(warehouse.folder)]
        stopped = warehouse.measured(lambda: stopped_or_done(command, None, 3))
        assert stopped.extra["timed_out"]
        assert warehouse.pid != first and not process_is_alive(first)
        busy = _cpu_seconds(warehouse.pid)
        time.sleep(1)
        assert _cpu_seconds(warehouse.pid) - busy < 0.2
        warehouse.empty()  # the new server answers


def test_a_peer_deciding_no_target_stops_running_once_a_run_was_stopped():
    settled = settled_when_stopped("peer")
    stopped, finished = Measured(9.0, 1.0, "", {"timed_out": True}), Measured(4.0, 1.0, "")
    skipped = Measured(0.0, 0.0, "", {"skipped": True, "timed_out": True})

    assert not settled({"peer": []})
    assert not settled({"peer": [finished]})  # a run that finished says the peer may be quicker: it runs again
    assert settled({"peer": [finished, stopped]})
    assert settled({"peer": [stopped]})
    # its time is then the stopped run's, a lower bound: never the 0 s of the runs it skipped
    assert median_of([stopped, skipped, skipped], "seconds") == 9.0
    assert wall([stopped, skipped, skipped]) == "stopped after 9.00 (1 run made)"
    # with two stopped runs, the shortest: never above what the peer would have taken
    assert median_of([stopped, Measured(11.0, 1.0, "", {"timed_out": True}), skipped], "seconds") == 9.0


def test_every_size_of_the_data_is_the_first_rows_of_the_largest(tmp_path):
    written = write_orders_csvs({3_000: tmp_path / "large.csv", 1_000: tmp_path / "small.csv"})

    large, small = written[3_000].read_bytes(), written[1_000].read_bytes()
    assert large == write_orders_csv(tmp_path / "alone.csv", 3_000).read_bytes()
    assert large.startswith(small) and small.count(b"\n") == 1_001


def test_the_scenarios_share_one_pass_of_the_data(tmp_path):
    data = OrdersData(tmp_path / "data", [3_000, 1_000, 3_000])

    large = data.csv(3_000)
    assert data.csv(3_000) == large and data.csv(1_000) != large  # a size asked twice is the same file
    assert large.read_bytes().startswith(data.csv(1_000).read_bytes())
    with pytest.raises(ValueError, match="2,000 rows were not among the sizes"):
        data.csv(2_000)
