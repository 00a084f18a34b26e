"""`make bench`: every scenario, each contender a whole process, alternating runs, one table in RESULTS.md.

    python -m benchmarks.run                  # full sizes; installs the peers in .venv-bench on first use
    python -m benchmarks.run --quick          # every scenario small (CI); a peer whose venv is absent is left out
    python -m benchmarks.run --only e2e,profile --e2e-rows 1000000 --runs 3

Targets are printed as pass or miss and never fail the run: the exit code is non-zero only when something crashed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import end_to_end, scenarios, uploads
from benchmarks.data import OrdersData
from benchmarks.measure import ROOT
from benchmarks.model import Target
from benchmarks.peers import install_peers, peer_versions
from benchmarks.report import machine, render, started_at, versions

SCENARIOS = ("e2e", "profile", "load", "backfill", "sensor", "uploads")
# the suite stays worth running: every scenario at full size in 20 minutes, small (CI) in 2
FULL_BUDGET_SECONDS = 20 * 60
QUICK_BUDGET_SECONDS = 2 * 60
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


@dataclass(frozen=True)
class Sizes:
    e2e_rows: list[int]
    profile_rows: int
    load_rows: int
    backfill_windows: int
    sensor_archived: int
    sensor_new: int
    upload_rows: int


FULL = Sizes([1_000_000, 3_000_000, 10_000_000], 1_000_000, 100_000, 365, 100_000, 1_000, 10_000_000)
QUICK = Sizes([10_000], 10_000, 1_000, 2, 1_000, 100, 10_000)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every scenario at a small size (under 2 minutes)")
    parser.add_argument("--install", action="store_true", help="create .venv-bench and install the peers first")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of each contender (default 3)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("--e2e-rows", help="comma-separated row counts for the end-to-end scenario")
    # dlt from dict rows took 312 s at 1M rows: at 10M it is stopped and reported as a lower bound
    parser.add_argument("--timeout", type=float, default=900, help="seconds before one run of a contender is stopped")
    parser.add_argument("--note", help="a sentence for the results' preface, e.g. how busy the machine was")
    parser.add_argument("--output", type=Path, help="where to write the results (default: RESULTS.md unless --quick)")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    sizes = QUICK if args.quick else FULL
    if args.e2e_rows:
        sizes = Sizes([int(n) for n in args.e2e_rows.split(",")], *list(vars(sizes).values())[1:])
    preface = [f"Written by `python -m benchmarks.run{' --quick' if args.quick else ''}` on {started_at()}; "
               f"{args.runs} alternating runs of each contender, medians shown."]  # fmt: skip
    if args.note:
        preface.append(f"**{args.note}**")
    peers = _peers(args, preface)
    with_peers = bool(peers)
    context = {"Machine": machine(), "Versions": versions(peers)}
    started = time.perf_counter()
    sections = _run(args, sizes, with_peers)
    took = time.perf_counter() - started
    preface.append(f"The whole benchmark took {took:,.0f} s.")
    budget, which = (QUICK_BUDGET_SECONDS, "quick") if args.quick else (FULL_BUDGET_SECONDS, "full")
    duration = Target(f"the {which} benchmark ≤ {budget / 60:g} min", took <= budget, f"{took / 60:.1f} min")
    text = render(sections, context, "Benchmark results", preface, [duration])
    print(text)
    output = args.output or (None if args.quick else RESULTS)
    if output:
        output.write_text(text)
        print(f"written to {output}")
    return 0


def _peers(args: argparse.Namespace, preface: list[str]) -> dict[str, str]:
    """The peers' versions, installing them when asked or on a full run's first use; a quick run goes without
    them when they are absent (installing them takes about a minute, half of a quick run's budget)."""
    peers = {} if args.install else peer_versions()
    if not peers and (args.install or not args.quick):
        preface.append(f"Installing the peers in .venv-bench took {install_peers():,.0f} s.")
        peers = peer_versions()
    if not peers:
        preface.append("The peers are not installed in .venv-bench (`python -m benchmarks.run --install`): left out.")
    return peers


def _run(args: argparse.Namespace, sizes: Sizes, with_peers: bool) -> list:
    chosen = args.only.split(",")
    scratch = Path(tempfile.mkdtemp(prefix="etl-bench-"))
    runs, timeout = args.runs, args.timeout
    data = OrdersData(scratch / "data", _data_sizes(sizes, chosen))
    try:
        steps = {
            "e2e": lambda: end_to_end.end_to_end(scratch / "e2e", data, sizes.e2e_rows, runs, with_peers, timeout),
            "profile": lambda: scenarios.profile(scratch / "profile", data, sizes.profile_rows, runs, with_peers, timeout),
            "load": lambda: scenarios.load(scratch / "load", data, sizes.load_rows, runs, timeout),
            "backfill": lambda: scenarios.backfill(scratch / "backfill", data, sizes.backfill_windows, runs, timeout),
            # the S3 tick is left out of the quick run: the integration tests run the sensor on a bucket already
            "sensor": lambda: scenarios.sensor(scratch / "sensor", sizes.sensor_archived, sizes.sensor_new, runs, timeout, on_s3=not args.quick),
            "uploads": lambda: uploads.uploads(scratch / "uploads", data, sizes.upload_rows, runs, timeout),
        }
        sections = []
        for name in SCENARIOS:
            if name in chosen:
                began = time.perf_counter()
                sections.append(steps[name]())
                print(f"{name}: {time.perf_counter() - began:,.0f} s", file=sys.stderr, flush=True)
        return sections
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _data_sizes(sizes: Sizes, chosen: list[str]) -> list[int]:
    """The CSV sizes the chosen scenarios read, written together when the first of them asks for one."""
    wanted = {"e2e": sizes.e2e_rows, "profile": [sizes.profile_rows], "load": [sizes.load_rows],
              "backfill": [scenarios.BACKFILL_ROWS], "uploads": [sizes.upload_rows]}  # fmt: skip
    return [rows for name in chosen for rows in wanted.get(name, [])]


if __name__ == "__main__":
    sys.exit(main())
