"""End to end: one daily window of orders through the whole chain, against the floor and dlt."""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path

from benchmarks.data import WINDOW_KEY, OrdersData, land
from benchmarks.measure import Measured, alternate, median_of
from benchmarks.model import Section, Target
from benchmarks.report import mib, ratio, wall
from benchmarks.runs import STAGES, SharedEmulator, decided_limit, shared_emulators, materialize, ours_script, peer_script, recorded, reset, settled_when_stopped

OURS = "etl_assets"
FLOOR = "floor: DuckDB → PUT → COPY"
DLT_ARROW = "dlt, arrow batches"
DLT_ROWS = "dlt defaults (dict rows)"
MAX_PEAK_MIB = 1024
FLAT = 1.25  # "flat": the peak at the largest size within this factor of the smallest's
# dlt's dict rows are stopped at this many times our slowest run so far: ours is then that much faster at least
DLT_ROWS_PAST = 1.0


def end_to_end(scratch: Path, data: OrdersData, sizes: list[int], runs: int, with_peers: bool, timeout: float) -> Section:
    section = Section(
        "End to end: one daily window, transform, four quality rules, merge on order_id",
        ["rows", "contender", "median s", "peak MiB", "emulator peak MiB", "ours ÷ it (time)", "ours ÷ it (RSS)"],
    )
    if not with_peers:
        section.notes.append("dlt is not installed in .venv-bench (run with --install): its rows are left out.")
    ours_by_size: dict[int, list[Measured]] = {}
    for rows in sorted(sizes):  # the last is the largest: its results decide the targets
        csv = data.csv(rows)
        with shared_emulators((reset(scratch / "ours_wh"), "BENCH.RAW"), (reset(scratch / "floor_wh"), "FLOOR.RAW")) as (ours, floor):
            contenders, settled = _contenders(scratch, csv, (ours, floor), with_peers, runs, timeout)
            results = alternate(contenders, runs, settled)
        ours_by_size[rows] = results[OURS]
        _add_rows(section, rows, results)
        section.notes.append(_stage_note(rows, results[OURS]))
        if _stopped(results.get(DLT_ROWS, [])):
            section.notes.append(f"At {rows:,} rows dlt's dict rows were stopped at {DLT_ROWS_PAST:g}× our slowest run so "
                                 "far and, as their ratio decides no target, not run again once a run was stopped: "
                                 "their time is a lower bound, and our ratio to it an upper bound.")  # fmt: skip
    _add_targets(section, sizes, ours_by_size, results)
    return section


def _contenders(
    scratch: Path, csv: Path, warehouses: tuple[SharedEmulator, SharedEmulator], with_peers: bool, runs: int, timeout: float
) -> tuple[dict, dict]:
    """The contenders in their running order, and when dlt's dict rows have run enough.

    Their ratio decides no target, so they are stopped at our slowest run so far, without the headroom a target
    needs (runs.decided_limit), and not run again once a run was stopped (runs.settled_when_stopped).
    """
    day = dt.date.fromisoformat(WINDOW_KEY)
    ours, floor = warehouses
    ours_seconds: list[float] = []
    contenders = {
        OURS: recorded(lambda: materialize(scratch / "ours", ours, lambda landing: land(csv, landing, day), ["--partition", WINDOW_KEY], timeout), ours_seconds),
        FLOOR: lambda: floor.measured(lambda: ours_script("floor.py", csv, reset(scratch / "floor"), floor.folder, timeout=timeout)),
    }
    if with_peers:
        contenders[DLT_ARROW] = lambda: peer_script("dlt_arrow.py", csv, reset(scratch / "dlt"), scratch=scratch / "dlt", timeout=timeout)
        contenders[DLT_ROWS] = lambda: peer_script("dlt_rows.py", csv, reset(scratch / "dlt"), scratch=scratch / "dlt",
                                                 timeout=decided_limit(ours_seconds, DLT_ROWS_PAST, timeout, headroom=1.0))
    return contenders, {DLT_ROWS: settled_when_stopped(DLT_ROWS)}


def _add_rows(section: Section, rows: int, results: dict[str, list[Measured]]) -> None:
    ours = results[OURS]
    for name, runs in results.items():
        emulator = [run.extra["emulator_mib"] for run in runs if "emulator_mib" in run.extra]
        section.rows.append([
            f"{rows:,}", name, wall(runs), mib(median_of(runs, "peak_mib")),
            mib(max(emulator)) if emulator else "–",
            # against a stopped peer our ratio is an upper bound: its own time was longer than shown
            "–" if name == OURS else ("≤ " if _stopped(runs) else "") + ratio(median_of(ours, "seconds") / median_of(runs, "seconds")),
            "–" if name == OURS else ratio(median_of(ours, "peak_mib") / median_of(runs, "peak_mib")),
        ])  # fmt: skip


def _stopped(runs: list[Measured]) -> bool:
    return any(run.extra.get("timed_out") for run in runs)


def _stage_note(rows: int, runs: list[Measured]) -> str:
    """Each stage's share of our median wall time; the rest is CLI start-up, imports and run bookkeeping."""
    wall = median_of(runs, "seconds")
    parts = []
    for stage in STAGES.values():
        spent = statistics.median(run.extra["stages"].get(stage, 0.0) for run in runs)
        parts.append(f"{stage} {spent:.2f} s ({spent / wall:.0%})")
    steps = statistics.median(sum(run.extra["stages"].values()) for run in runs)
    parts.append(f"CLI start-up and run bookkeeping {wall - steps:.2f} s ({(wall - steps) / wall:.0%})")
    return f"Where our {rows:,}-row time goes (median of each step): " + ", ".join(parts) + "."


def _add_targets(section: Section, sizes: list[int], ours: dict[int, list[Measured]], largest: dict) -> None:
    top, bottom = max(sizes), min(sizes)
    ours_s = median_of(ours[top], "seconds")
    floor_s = median_of(largest[FLOOR], "seconds")
    section.targets.append(Target(f"end to end at {top:,} rows ≤ 1.5× the floor", ours_s <= 1.5 * floor_s, f"{ours_s / floor_s:.2f}×"))
    if DLT_ARROW in largest:
        dlt_s = median_of(largest[DLT_ARROW], "seconds")
        section.targets.append(Target(f"end to end at {top:,} rows ≤ 1.0× dlt's arrow path", ours_s <= dlt_s, f"{ours_s / dlt_s:.2f}×"))
    peak_top = max(run.peak_mib for run in ours[top])
    section.targets.append(Target(f"every process of ours ≤ 1 GB at {top:,} rows", peak_top <= MAX_PEAK_MIB, f"{peak_top:,.0f} MiB"))
    peak_bottom = max(run.peak_mib for run in ours[bottom])
    if top != bottom:
        section.targets.append(Target(
            f"peak flat from {bottom:,} to {top:,} rows (within {FLAT}×)", peak_top <= FLAT * peak_bottom,
            f"{peak_bottom:,.0f} → {peak_top:,.0f} MiB",
        ))  # fmt: skip
