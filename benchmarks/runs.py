"""How each contender is started: a fresh home, a warm emulator of its own, one measured process."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import snowflake.connector

from benchmarks.data import fresh_home
from benchmarks.measure import ContenderFailed, ContenderTimedOut, Measured, run_process, vm_hwm_mib
from benchmarks.peers import PROJECT_BIN, bench_python
from etl_assets.warehouse.emulator import LocalEmulator

CONTENDERS = Path(__file__).resolve().parent / "contenders"
# the chain's assets by the first part of their step key, in the chain's order
STAGES = {"uploads": "upload", "profiles": "profile", "scripts": "script", "transformed": "transform", "snowflake": "load"}


class SharedEmulator:
    """One contender's emulator, started before its first run (as a running installation has one) and kept for all
    of its runs; each run starts from an empty schema, so every run does the same work. The server's peak RSS
    covers all the runs, which shows whether it grows from one load of the same window to the next. Only a run that
    was stopped gets a new server after it (SharedEmulator.restart)."""

    def __init__(self, folder: Path, schema: str):
        self.emulator = LocalEmulator(folder)
        self.folder, self.schema, self.pid = folder, schema, 0

    def __enter__(self) -> SharedEmulator:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pid = self.emulator.ensure_running().pid
        return self

    def __exit__(self, *exc) -> None:
        self.emulator.stop()

    def empty(self) -> None:
        """Drop the contender's schema (the emulator has no DROP DATABASE), with its tables and ledger."""
        with snowflake.connector.connect(**self.emulator.connection_args()) as connection:
            connection.cursor().execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    def peak_mib(self) -> float:
        return vm_hwm_mib(self.pid)

    def measured(self, run: Callable[[], Measured]) -> Measured:
        self.empty()
        measured = run()
        measured.extra["emulator_mib"] = self.peak_mib()
        if measured.extra.get("timed_out"):
            self.restart()
        return measured

    def restart(self) -> None:
        """A new server in place of this one. A stopped client leaves its statement running in the server (executemany's
        INSERT parses on for minutes), which would take a core from the next contender's run."""
        self.emulator.stop(timeout=2)
        self.pid = self.emulator.ensure_running().pid


@contextlib.contextmanager
def shared_emulators(*homes: tuple[Path, str]) -> Iterator[list[SharedEmulator]]:
    """The contenders' emulators of a scenario, started side by side and stopped side by side: a server's start is
    a second of waiting, outside every measurement, that two contenders need not pay one after the other."""
    emulators = [SharedEmulator(folder, schema) for folder, schema in homes]
    with ThreadPoolExecutor(len(emulators)) as pool:
        starts = [pool.submit(emulator.__enter__) for emulator in emulators]
    started = [emulator for emulator, start in zip(emulators, starts) if start.exception() is None]
    try:
        for start in starts:
            start.result()  # the first failure to start, raised once the others are stopped below
        yield emulators
    finally:
        with ThreadPoolExecutor(len(emulators)) as pool:
            list(pool.map(lambda emulator: emulator.__exit__(None, None, None), started))


# a row-by-row peer is stopped this much past its threshold, so that run-to-run noise in our times does not leave
# its ratio undecided after two stopped runs (settled_past). Our 1.4 s load process varies by ±15% from run to run:
# at 10% a first run of ours 10% quicker than our median (in one of two full runs on 2026-12-04) cost a third
# executemany run of 150 s; at 20% that takes a first run 17% quicker, for 25 s more per run.
HEADROOM = 1.2


def decided_limit(ours_seconds: list[float], times: float, timeout: float, headroom: float = HEADROOM) -> float:
    """When to stop a row-by-row peer (dlt's dict rows, executemany), which runs minutes where the others run seconds.

    Past `times` our slowest run so far its ratio is decided: ours runs first in each round of alternating runs,
    so with every peer run stopped there, the peer's median is at least `times` our median. Its time is then
    reported as a lower bound ("stopped after"), and the ratio as a bound ("≤", "≥").
    """
    return min(timeout, headroom * times * max(ours_seconds, default=timeout))


def settled_past(ours_seconds: list[float], peer: str, runs: int, times: float) -> Callable[[dict[str, list[Measured]]], bool]:
    """Whether the peer's runs so far already put its median at `times` ours or more, whatever its next runs take.

    Asked once all `runs` of ours are in (ours runs first in a round): the runs the peer has yet to make count as
    0 seconds, so two stopped runs of three settle it and the third, minutes long, is not run.
    """

    def settled(results: dict[str, list[Measured]]) -> bool:
        made = results[peer]
        if len(ours_seconds) < runs or not made:
            return False
        bound = statistics.median([run.seconds for run in made] + [0.0] * (runs - len(made)))
        return bound >= times * statistics.median(ours_seconds)

    return settled


def settled_when_stopped(peer: str) -> Callable[[dict[str, list[Measured]]], bool]:
    """Whether a run of the peer was stopped at our time: it then took longer than our run, which is all a peer
    whose ratio decides no target has to show, so it is not run again; its time is that run's, a lower bound
    (median_of). Its minutes would otherwise be a large share of the suite's 20 (dlt's dict rows: about a minute)."""

    def settled(results: dict[str, list[Measured]]) -> bool:
        return any(run.extra.get("timed_out") and not run.extra.get("skipped") for run in results[peer])

    return settled


def recorded(run: Callable[[], Measured], seconds: list[float]) -> Callable[[], Measured]:
    """`run`, appending each run's seconds to `seconds`: what decided_limit reads our runs from."""

    def measured() -> Measured:
        result = run()
        seconds.append(result.seconds)
        return result

    return measured


def ours_script(name: str, *args: object, timeout: float = 3600) -> Measured:
    return run_process([str(PROJECT_BIN / "python"), str(CONTENDERS / name), *map(str, args)], timeout=timeout)


def peer_script(name: str, *args: object, scratch: Path, timeout: float = 3600) -> Measured:
    """A peer in .venv-bench, its home and dlt's telemetry kept out of the user's. A peer past the time limit is
    reported as such (dlt's row path at 10M rows may never end), not as a crash of the benchmark."""
    env = dict(os.environ, HOME=str(scratch), RUNTIME__DLTHUB_TELEMETRY="false", RUNTIME__LOG_LEVEL="WARNING")
    scratch.mkdir(parents=True, exist_ok=True)
    return stopped_or_done([str(bench_python()), str(CONTENDERS / name), *map(str, args)], env, timeout)


def stopped_or_done(command: list[str], env: dict | None, timeout: float) -> Measured:
    """A process that may run past the time limit: then what it used until it was stopped, marked `timed_out`."""
    try:
        return run_process(command, env=env, timeout=timeout)
    except ContenderTimedOut as stopped:
        return stopped.measured


def materialize(home: Path, warehouse: SharedEmulator, lay: Callable[[Path], object], partition_args: list[str], timeout: float = 3600) -> Measured:
    """`dagster asset materialize` of the orders chain in a fresh `home` whose landing zone `lay` fills, as a user
    runs it, with the time of each stage from the run's events."""
    env = fresh_home(home)
    (home / "warehouse").symlink_to(warehouse.folder)
    lay(home / "landing" / "orders")
    return warehouse.measured(lambda: _materialize_in(home, env, partition_args, timeout))


def _materialize_in(home: Path, env: dict, partition_args: list[str], timeout: float) -> Measured:
    command = [str(PROJECT_BIN / "dagster"), "asset", "materialize", "-m", "etl_assets.definitions",
               "--select", "group:orders", *partition_args]  # fmt: skip
    measured = run_process(command, env=env, timeout=timeout)
    if "RUN_SUCCESS" not in measured.output:
        raise ContenderFailed(f"dagster asset materialize did not succeed:\n{measured.output[-3000:]}")
    measured.extra.update(stages=stage_seconds(home / "dagster"))
    return measured


def stage_seconds(dagster_home: Path) -> dict[str, float]:
    """Seconds per stage, summed over the instance's runs, from their STEP_SUCCESS events."""
    from dagster import DagsterEventType, DagsterInstance

    totals: dict[str, float] = defaultdict(float)
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_SUCCESS):
                event = entry.dagster_event
                stage = STAGES.get(event.step_key.split("__")[0], event.step_key)
                totals[stage] += event.event_specific_data.duration_ms / 1000
    return dict(totals)


def reset(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
