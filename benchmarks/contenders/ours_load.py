"""Ours: load_window's PUT + COPY + MERGE (in one transaction, with its ledger row) of a window's Parquet.

    python benchmarks/contenders/ours_load.py WINDOW.parquet WAREHOUSE_DIR

Prints `INSIDE SECONDS`: the load alone, without the interpreter, imports and connection.
"""

import datetime as dt
import sys
import time
from pathlib import Path

import snowflake.connector

from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.model import LoadRequest

START = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)

parquet, warehouse_dir = Path(sys.argv[1]), Path(sys.argv[2])
with snowflake.connector.connect(**LocalEmulator(warehouse_dir).connection_args()) as connection:
    request = LoadRequest(
        database="BENCH", schema="RAW", table="ORDERS", strategy="merge", keys=["order_id"], window_key="2025-06-01",
        window_start=START, window_end=START + dt.timedelta(days=1), run_id="bench", parquet_path=parquet,
    )
    started = time.perf_counter()
    result = load_window(connection, request)
    print("INSIDE", time.perf_counter() - started)
    print("ROWS", result.rows_in_window)
