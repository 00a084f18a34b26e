"""The peers' own venv, .venv-bench: ydata-profiling and dlt pin their own pandas/numpy, never in the project's venv."""

from __future__ import annotations

import subprocess
import sys
import time
import venv
from pathlib import Path

from benchmarks.measure import ROOT

BENCH_VENV = ROOT / ".venv-bench"
# ydata-profiling imports pkg_resources, which setuptools 81 removed
PEERS = ("ydata-profiling", "dlt[duckdb]", "pyarrow", "setuptools<81")
PROJECT_BIN = Path(sys.executable).parent


def bench_python() -> Path:
    return BENCH_VENV / "bin" / "python"


def install_peers() -> float:
    """Create .venv-bench and install the peers in it; the seconds it took."""
    started = time.perf_counter()
    if not bench_python().exists():
        venv.create(BENCH_VENV, with_pip=True)
    subprocess.run([str(bench_python()), "-m", "pip", "install", "-q", *PEERS], check=True)
    return time.perf_counter() - started


def peer_versions() -> dict[str, str]:
    """The peers' versions; empty when .venv-bench is missing or cannot import them (one import, as it is slow)."""
    if not bench_python().exists():
        return {}
    code = "import dlt, pyarrow, ydata_profiling, duckdb; print(dlt.__version__, ydata_profiling.__version__, duckdb.__version__)"
    check = subprocess.run([str(bench_python()), "-c", code], capture_output=True, text=True)
    return dict(zip(("dlt", "ydata-profiling", "duckdb (dlt's)"), check.stdout.split())) if check.returncode == 0 else {}
