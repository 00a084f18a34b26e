"""Start a generated script with a scrubbed environment and a CPU-time limit.

    python -m etl_assets.scriptgen.sandbox [--cpu-seconds N] -- SCRIPT [--window KEY] --input IN --output OUT [...]

The script sees only the variables it needs (PATH, locale, time zone, DuckDB's memory limit and Dagster Pipes' own), so no
credential, key or token of the parent process reaches it; Python runs isolated (-I), ignoring PYTHON*
variables and the user's site-packages.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from collections.abc import Mapping, Sequence

from etl_assets.local_duckdb import MEMORY_LIMIT_VARIABLE

KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", MEMORY_LIMIT_VARIABLE)
KEPT_PREFIXES = ("DAGSTER_PIPES_",)
DEFAULT_CPU_SECONDS = 600


def scrubbed_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Only the variables a generated script needs."""
    return {k: v for k, v in environ.items() if k in KEPT_VARIABLES or k.startswith(KEPT_PREFIXES)}


def sandbox_command(script: str, arguments: Sequence[str], cpu_seconds: int = DEFAULT_CPU_SECONDS) -> list[str]:
    """The command that runs `script` through this sandbox with the current interpreter."""
    return [sys.executable, "-m", "etl_assets.scriptgen.sandbox", "--cpu-seconds", str(cpu_seconds), "--", script, *arguments]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="etl_assets.scriptgen.sandbox")
    parser.add_argument("--cpu-seconds", type=int, default=DEFAULT_CPU_SECONDS)
    parser.add_argument("script")
    parser.add_argument("arguments", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_CPU, (args.cpu_seconds, args.cpu_seconds))
    os.execve(sys.executable, [sys.executable, "-I", args.script, *args.arguments], scrubbed_environment(os.environ))


if __name__ == "__main__":
    main()
