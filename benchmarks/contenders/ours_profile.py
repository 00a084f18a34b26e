"""Ours: the same CSV read as text into Parquet (every column a string, as an upload keeps it), then profile_parquet.

    python benchmarks/contenders/ours_profile.py ORDERS.csv WORKDIR
"""

import sys
from pathlib import Path

import duckdb

from etl_assets.profiling.profiler import profile_parquet

csv_path, parquet = sys.argv[1], Path(sys.argv[2]) / "profiled.parquet"
duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar = true)) TO '{parquet}' (FORMAT parquet)")
profile = profile_parquet(parquet)
print("ROWS", profile.row_count)
