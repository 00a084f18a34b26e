"""The one table and RESULTS.md: the machine, the versions, the date, every section's rows and targets."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from benchmarks.measure import Measured, median_of
from benchmarks.model import Section, Target

PROJECT_PACKAGES = ("dagster", "duckdb", "pyarrow", "fakesnow", "snowflake-connector-python", "pandas")


def seconds(value: float) -> str:
    return f"{value:,.2f}"


def mib(value: float) -> str:
    return f"{value:,.0f}"


def ratio(value: float) -> str:
    return f"{value:.2f}×"


def wall(runs: list[Measured]) -> str:
    """The median wall time, said to be a lower bound when a run was stopped at the time limit, with how many runs
    were made when some were skipped."""
    text = seconds(median_of(runs, "seconds"))
    made = sum(not run.extra.get("skipped") for run in runs)
    if made < len(runs):
        text += f" ({made} run{'' if made == 1 else 's'} made)"
    return f"stopped after {text}" if any(run.extra.get("timed_out") for run in runs) else text


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": str(os.cpu_count()), "RAM": f"{ram:.1f} GiB", "CPU": cpu, "Python": sys.version.split()[0],
            "load average at the start": " ".join(f"{x:.2f}" for x in os.getloadavg())}  # fmt: skip


def versions(peers: dict[str, str]) -> dict[str, str]:
    found = {name: metadata.version(name) for name in PROJECT_PACKAGES}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {"etl_assets commit": commit or "unknown", **found, **peers}


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render(
    sections: list[Section], context: dict[str, dict[str, str]], title: str, preface: list[str], overall: list[Target] = ()
) -> str:
    lines = [f"# {title}", "", *preface, ""]
    for heading, values in context.items():
        lines += [f"**{heading}**: " + "; ".join(f"{key} {value}" for key, value in values.items()), ""]
    lines += ["## Targets", ""]
    lines += markdown_table(["target", "measured", "result"], [
        [target.goal, target.measured, "pass" if target.passed else "**miss**"]
        for target in [*(target for s in sections for target in s.targets), *overall]
    ])  # fmt: skip
    for section in sections:
        lines += ["", f"## {section.title}", "", *markdown_table(section.header, section.rows)]
        lines += [""] + [f"- {note}" for note in section.notes] if section.notes else []
    return "\n".join(lines) + "\n"


def started_at() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
