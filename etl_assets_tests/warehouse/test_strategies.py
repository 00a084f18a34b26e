"""Every strategy applied twice through load_window: the same rows, except that a new run's append adds them again."""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.model import LoadRequest
from etl_assets.warehouse.reconcile import rows_in_window

pytestmark = pytest.mark.integration

DAY_1 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
DAY_2 = dt.datetime(2026, 2, 2, tzinfo=dt.UTC)
ROWS = [(1, 10.0), (2, 20.0), (3, 30.0)]


def load(connection, path, schema: str, strategy: str, run_id: str):
    request = LoadRequest(
        database="TWICE", schema=schema, table="ORDERS", strategy=strategy,
        keys=["order_id"] if strategy == "merge" else [], window_key="2026-02-01", window_start=DAY_1,
        window_end=DAY_2, run_id=run_id, parquet_path=path,
    )  # fmt: skip
    return load_window(connection, request)


def table_rows(connection, schema: str) -> list[tuple]:
    sql = f'SELECT "order_id", "amount" FROM "TWICE"."{schema}"."ORDERS" ORDER BY 1'
    return connection.cursor().execute(sql).fetchall()


@pytest.fixture
def orders(tmp_path):
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"order_id": [r[0] for r in ROWS], "amount": [r[1] for r in ROWS]}), path)
    return path


@pytest.mark.parametrize(
    ("strategy", "second_counts"),
    [("merge", (0, 3, 0)), ("replace_window", (3, 0, 3)), ("truncate_insert", (3, 0, 3))],
)
@pytest.mark.parametrize("second_run", ["run-1", "run-2"])
def test_idempotent_strategies_leave_the_same_rows_twice(
    warehouse_connection, orders, strategy, second_counts, second_run
):
    schema = f"S_{uuid.uuid4().hex[:8].upper()}"
    first = load(warehouse_connection, orders, schema, strategy, "run-1")
    second = load(warehouse_connection, orders, schema, strategy, second_run)

    assert (first.rows_inserted, first.rows_updated, first.rows_deleted) == (3, 0, 0)
    assert (second.rows_inserted, second.rows_updated, second.rows_deleted) == second_counts
    assert table_rows(warehouse_connection, schema) == ROWS
    assert rows_in_window(warehouse_connection, "TWICE", schema, "ORDERS", DAY_1, DAY_2) == 3


def test_append_by_a_new_run_doubles_the_rows(warehouse_connection, orders):
    schema = f"S_{uuid.uuid4().hex[:8].upper()}"
    load(warehouse_connection, orders, schema, "append", "run-1")
    second = load(warehouse_connection, orders, schema, "append", "run-2")

    assert (second.rows_inserted, second.rows_deleted, second.rows_in_window) == (3, 0, 6)
    assert table_rows(warehouse_connection, schema) == sorted(ROWS * 2)


def test_append_retried_by_the_same_run_replaces_its_own_rows(warehouse_connection, orders):
    schema = f"S_{uuid.uuid4().hex[:8].upper()}"
    load(warehouse_connection, orders, schema, "append", "run-1")
    load(warehouse_connection, orders, schema, "append", "run-2")
    retried = load(warehouse_connection, orders, schema, "append", "run-2")

    assert (retried.rows_inserted, retried.rows_deleted, retried.rows_in_window) == (3, 3, 6)
    assert table_rows(warehouse_connection, schema) == sorted(ROWS * 2)
