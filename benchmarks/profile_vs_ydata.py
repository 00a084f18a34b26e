"""Profile a 1M-row, 9-column CSV with profile_parquet and with ydata-profiling (minimal); compare time and peak memory.

    python benchmarks/profile_vs_ydata.py --install   # first run: makes .venv-bench with ydata-profiling in it
    python benchmarks/profile_vs_ydata.py --rows 1000000
    python benchmarks/profile_vs_ydata.py --ydata 68.0,2193   # reuse an earlier ydata run: times ours alone

ydata-profiling pins its own pandas/numpy, so it lives in .venv-bench, never in the project's venv. Each contender
runs in its own child process: the time covers reading the file and profiling it, the peak RSS is the child's own.
Exits 1 unless ours is at least 10 times faster and uses less peak memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".venv-bench"
REQUIRED_SPEEDUP = 10.0
WORDS = np.array("fast delivery please call before arrival gift wrap leave at door thanks again".split())
OURS = """
import sys
from pathlib import Path
from etl_assets.profiling.profiler import profile_parquet
profile = profile_parquet(Path(sys.argv[1]))
assert profile.row_count > 0
"""
YDATA = """
import sys
import pandas as pd
from ydata_profiling import ProfileReport
frame = pd.read_csv(sys.argv[1])
ProfileReport(frame, minimal=True, progress_bar=False).to_json()
"""
# The child reports its own peak RSS: resource.getrusage(RUSAGE_CHILDREN) would mix the two contenders.
MEASURE = """
import resource, runpy, sys, time
started = time.perf_counter()
exec(compile(sys.argv.pop(1), "contender", "exec"), {"__name__": "__main__"})
print("RESULT", time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def generate_csv(path: Path, rows: int) -> None:
    """Orders-like rows: ids, emails, dates as text, amounts, categories, free text and a nullable column."""
    rng = np.random.default_rng(7)
    ids = np.arange(1, rows + 1)
    customers = rng.integers(1, 200_000, rows)
    days = np.datetime64("2025-01-01") + rng.integers(0, 365, rows)
    notes = [" ".join(words) for words in WORDS[rng.integers(0, len(WORDS), (rows, 6))]]
    discount = rng.integers(0, 50, rows).astype(float)
    discount[rng.random(rows) < 0.2] = np.nan
    table = pa.table(
        {
            "order_id": ids,
            "customer_id": customers,
            "email": pa.array(np.char.add(np.char.add("customer", customers.astype(str)), "@example.com")),
            "order_date": pa.array(np.datetime_as_string(days)),
            "amount": np.round(rng.gamma(2.0, 40.0, rows), 2),
            "status": rng.choice(["paid", "shipped", "refunded", "cancelled"], rows),
            "country": rng.choice(["DE", "FR", "NL", "BE", "AT", "CH", "IT", "ES"], rows),
            "note": pa.array(notes),
            "discount": pa.array(discount, from_pandas=True),
        }
    )
    pacsv.write_csv(table, path)


def csv_to_parquet(csv_path: Path, parquet_path: Path) -> None:
    """What an upload becomes: every column read as text, as the upload reader keeps it."""
    names = pacsv.read_csv(csv_path, read_options=pacsv.ReadOptions(skip_rows_after_names=10**9)).column_names
    options = pacsv.ConvertOptions(column_types={name: pa.string() for name in names})
    pq.write_table(pacsv.read_csv(csv_path, convert_options=options), parquet_path)


def install_bench_venv() -> None:
    if not (BENCH_VENV / "bin" / "python").exists():
        venv.create(BENCH_VENV, with_pip=True)
    subprocess.run([str(BENCH_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "ydata-profiling"], check=True)


def measure(python: Path, code: str, data: Path) -> tuple[float, float]:
    """Seconds and peak MiB of `code` run on `data` in a fresh child process."""
    result = subprocess.run([str(python), "-c", MEASURE, code, str(data)], capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"{python} failed:\n{result.stderr[-3000:]}")
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    seconds, peak = line.split()[1:]
    return float(seconds), float(peak)


def _seconds_and_mib(text: str) -> tuple[float, float]:
    seconds, mib = text.split(",")
    return float(seconds), float(mib)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--install", action="store_true", help="create .venv-bench and install ydata-profiling in it")
    parser.add_argument(
        "--ydata", type=_seconds_and_mib, metavar="SECONDS,MIB",
        help="reuse these ydata-profiling figures from an earlier run (same --rows) instead of running it again",
    )
    args = parser.parse_args()
    if args.install:
        install_bench_venv()
    bench_python = BENCH_VENV / "bin" / "python"
    if args.ydata is None and not bench_python.exists():
        sys.exit("ydata-profiling is not set up; run again with --install to create .venv-bench")
    with tempfile.TemporaryDirectory() as folder:
        csv_path, parquet_path = Path(folder) / "orders.csv", Path(folder) / "orders.parquet"
        started = time.perf_counter()
        generate_csv(csv_path, args.rows)
        csv_to_parquet(csv_path, parquet_path)
        print(f"generated {args.rows:,} rows x 9 columns in {time.perf_counter() - started:.1f}s")
        ours = measure(Path(sys.executable), OURS, parquet_path)
        theirs = args.ydata or measure(bench_python, YDATA, csv_path)
    print(json.dumps({"rows": args.rows, "ours": ours, "ydata_minimal": theirs}))
    print(f"{'contender':<26}{'seconds':>10}{'peak MiB':>12}")
    print(f"{'etl_assets profile_parquet':<26}{ours[0]:>10.2f}{ours[1]:>12.0f}")
    label = "ydata minimal (reused)" if args.ydata else "ydata-profiling minimal"
    print(f"{label:<26}{theirs[0]:>10.2f}{theirs[1]:>12.0f}")
    speedup, memory_ratio = theirs[0] / ours[0], theirs[1] / ours[1]
    print(f"ours is {speedup:.1f}x faster and uses {memory_ratio:.1f}x less peak memory")
    return 0 if speedup >= REQUIRED_SPEEDUP and ours[1] < theirs[1] else 1


if __name__ == "__main__":
    sys.exit(main())
