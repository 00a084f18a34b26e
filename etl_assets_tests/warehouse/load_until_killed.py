"""A loader process for kill tests: loads one window with a ledger and SIGKILLs itself when a named step starts.

Run: python -m etl_assets_tests.warehouse.load_until_killed WAREHOUSE_DIR PARQUET DATABASE SCHEMA STRATEGY RUN_ID STEP
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from pathlib import Path

import snowflake.connector

from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.ledger import LoadLedger
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.model import LoadRequest

WINDOW_START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
WINDOW_END = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def request(parquet: Path, database: str, schema: str, strategy: str, run_id: str) -> LoadRequest:
    return LoadRequest(
        database=database, schema=schema, table="ORDERS", strategy=strategy,
        keys=["order_id"] if strategy == "merge" else [], window_key="2026-03-01", window_start=WINDOW_START,
        window_end=WINDOW_END, run_id=run_id, parquet_path=parquet, dataset="orders",
    )  # fmt: skip


def main(warehouse_dir: str, parquet: str, database: str, schema: str, strategy: str, run_id: str, step: str) -> None:
    def die_at(current: str) -> None:
        if current == step:
            os.kill(os.getpid(), signal.SIGKILL)

    connection = snowflake.connector.connect(**LocalEmulator(Path(warehouse_dir)).connection_args())
    load_window(
        connection, request(Path(parquet), database, schema, strategy, run_id), LoadLedger(connection, database, schema), die_at
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
