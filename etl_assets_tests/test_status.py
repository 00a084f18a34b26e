"""`etl-assets status` reads each window's latest ledger outcome and the table's rows from the warehouse."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from etl_assets.config.models import DatasetConfig
from etl_assets.status import DatasetStatus, read_warehouse_status
from etl_assets.warehouse.ledger import LoadLedger

pytestmark = pytest.mark.integration


def test_each_window_counts_at_its_latest_attempt(warehouse_connection):
    schema = f"STATUS_{uuid.uuid4().hex[:8].upper()}"
    warehouse_connection.cursor().execute("CREATE DATABASE IF NOT EXISTS ANALYTICS")
    warehouse_connection.cursor().execute(f'CREATE SCHEMA IF NOT EXISTS "ANALYTICS"."{schema}"')
    dataset = DatasetConfig.model_validate(
        {"name": "orders", "source": {"path": "/x"}, "warehouse": {"schema": schema}, "load": {"table": "ORDERS"}}
    )
    ledger = LoadLedger(warehouse_connection, "ANALYTICS", schema)
    outcomes = {
        "2026-11-01": ["failed", "uploaded"],  # retried and loaded
        "2026-11-02": ["uploaded", "failed"],  # loaded, then a later attempt failed
        "2026-11-03": ["blocked"],
        "2026-11-04": ["pending"],
        "2026-11-05": ["uploaded"],
    }
    for key, statuses in outcomes.items():
        start = dt.datetime.fromisoformat(key)
        for status in statuses:
            load_id = ledger.start(dataset="orders", table_name="ORDERS", window_key=key, window_start=start, window_end=start + dt.timedelta(days=1), run_id=uuid.uuid4().hex, strategy="merge")
            if status != "pending":
                ledger.finish(load_id, status)
    warehouse_connection.cursor().execute(f'CREATE TABLE "ANALYTICS"."{schema}"."ORDERS" (ID INT)')
    warehouse_connection.cursor().execute(f'INSERT INTO "ANALYTICS"."{schema}"."ORDERS" VALUES (1), (2), (3)')

    status = DatasetStatus("orders", dataset.target_name)
    read_warehouse_status(warehouse_connection, dataset, status)

    assert (status.last_window_loaded, status.windows_failed, status.windows_blocked, status.windows_pending) == (
        "2026-11-05", ["2026-11-02"], ["2026-11-03"], ["2026-11-04"]
    )
    assert status.rows_in_warehouse == 3


def test_a_table_not_loaded_yet_has_no_row_count(warehouse_connection):
    schema = f"STATUS_{uuid.uuid4().hex[:8].upper()}"
    warehouse_connection.cursor().execute("CREATE DATABASE IF NOT EXISTS ANALYTICS")
    warehouse_connection.cursor().execute(f'CREATE SCHEMA IF NOT EXISTS "ANALYTICS"."{schema}"')
    dataset = DatasetConfig.model_validate({"name": "new", "source": {"path": "/x"}, "warehouse": {"schema": schema}, "load": {"table": "NEW"}})
    status = DatasetStatus("new", dataset.target_name)

    read_warehouse_status(warehouse_connection, dataset, status)

    assert (status.rows_in_warehouse, status.last_window_loaded, status.windows_failed) == (None, None, [])
