"""Ours: the same CSV read as text into Parquet (every column a string, as an upload keeps it), then profile_parquet.

    python benchmarks/contenders/ours_profile.py ORDERS.csv WORKDIR

Prints `STEPS read SECONDS profile SECONDS`, so a miss shows where the time goes.
"""

import sys
import time
from pathlib import Path

import duckdb

from etl_assets.profiling.profiler import profile_parquet

csv_path, parquet = sys.argv[1], Path(sys.argv[2]) / "profiled.parquet"
started = time.perf_counter()
duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar = true)) TO '{parquet}' (FORMAT parquet)")
read = time.perf_counter()
profile = profile_parquet(parquet)
print("STEPS", read - started, time.perf_counter() - read)
print("ROWS", profile.row_count)
