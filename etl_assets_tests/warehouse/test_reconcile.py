"""Reconciliation helpers against the real emulator."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.warehouse.errors import PermanentWarehouseError
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.model import LoadRequest
from etl_assets import local_duckdb
from etl_assets.warehouse.reconcile import column_types, expected_rows, reconcile_window, rows_in_window, rows_written_by_run

pytestmark = pytest.mark.integration

DAY_1 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
DAY_2 = dt.datetime(2026, 5, 2, tzinfo=dt.UTC)
DAY_3 = dt.datetime(2026, 5, 3, tzinfo=dt.UTC)


def test_rows_in_window_counts_only_that_window_and_column_types_reads_the_table(warehouse_connection, tmp_path):
    schema = f"S_{uuid.uuid4().hex[:8].upper()}"
    for start, end, ids in ((DAY_1, DAY_2, [1, 2]), (DAY_2, DAY_3, [3])):
        path = tmp_path / f"{start:%d}.parquet"
        pq.write_table(pa.table({"order_id": ids, "note": ["x"] * len(ids)}), path)
        request = LoadRequest(
            database="RECON", schema=schema, table="orders", strategy="replace_window", keys=[],
            window_key=f"{start:%Y-%m-%d}", window_start=start, window_end=end, run_id="r", parquet_path=path,
        )  # fmt: skip
        load_window(warehouse_connection, request)

    assert rows_in_window(warehouse_connection, "RECON", schema, "orders", DAY_1, DAY_2) == 2
    assert rows_in_window(warehouse_connection, "RECON", schema, "orders", DAY_2.replace(tzinfo=None), DAY_3) == 1
    assert rows_in_window(warehouse_connection, "RECON", schema, "orders", DAY_3, DAY_3) == 0
    assert column_types(warehouse_connection, "RECON", schema, "orders") == {
        "order_id": "NUMBER(38,0)",
        "note": "VARCHAR",
        "_source_file": "VARCHAR",
        "time_window_start": "TIMESTAMP_TZ",
        "time_window_end": "TIMESTAMP_TZ",
        "_run_id": "VARCHAR",
        "_loaded_at": "TIMESTAMP_TZ",
    }
    assert column_types(warehouse_connection, "RECON", schema, "missing") == {}


def test_missing_table_is_a_permanent_error(warehouse_connection):
    with pytest.raises(PermanentWarehouseError, match="Counting the rows of RECON.NOPE.ORDERS failed"):
        rows_in_window(warehouse_connection, "RECON", "NOPE", "ORDERS", DAY_1, DAY_2)


def test_reconciliation_matches_after_a_merge_and_fails_when_rows_go_missing(warehouse_connection, tmp_path):
    schema = f"S_{uuid.uuid4().hex[:8].upper()}"
    path = tmp_path / "orders.parquet"
    # order 2 twice: the merge keeps one row per key, so 3 rows are expected
    pq.write_table(pa.table({"order_id": [1, 2, 2, 3], "note": ["a", "b", "c", "d"], "_source_row": [1, 2, 3, 4]}), path)
    request = LoadRequest(
        database="RECON", schema=schema, table="orders", strategy="merge", keys=["order_id"],
        window_key="2026-05-01", window_start=DAY_1, window_end=DAY_2, run_id="run-7", parquet_path=path,
    )  # fmt: skip
    result = load_window(warehouse_connection, request)
    assert expected_rows(path, "merge", ["time_window_start", "time_window_end", "order_id"]) == 3
    assert expected_rows(path, "replace_window", []) == 4
    with local_duckdb.connect() as shared:  # a range's windows count in cursors of one database
        assert expected_rows(path, "merge", ["order_id"], shared) == 3

    # the load counted the rows it wrote inside its transaction, as the table holds them once committed
    assert result.rows_written_by_run == 3 == rows_written_by_run(warehouse_connection, "RECON", schema, "orders", DAY_1, DAY_2, "run-7")
    healthy = reconcile_window(warehouse_connection, request, ["order_id"], result)
    assert (healthy.expected, healthy.found, healthy.matches) == (3, 3, True)

    with warehouse_connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "RECON"."{schema}"."ORDERS" WHERE "order_id" = 3')
    # a window an earlier attempt loaded has no count of its own: the table is counted
    earlier = dataclasses.replace(result, rows_written_by_run=None, already_loaded=True)
    broken = reconcile_window(warehouse_connection, request, ["order_id"], earlier)
    assert (broken.expected, broken.found, broken.matches) == (3, 2, False)
    # a load whose transaction wrote fewer rows than its file holds fails the reconciliation too
    short = reconcile_window(warehouse_connection, request, ["order_id"], dataclasses.replace(result, rows_written_by_run=2))
    assert (short.found, short.matches) == (2, False)


def test_a_first_merge_counts_its_files_keys_once_for_the_load_and_the_reconciliation(warehouse_connection, tmp_path, monkeypatch):
    schema = f"S_{uuid.uuid4().hex[:8].upper()}"
    path = tmp_path / "w.parquet"
    pq.write_table(pa.table({"order_id": [1, 2, 2, 3], "note": ["a", "b", "c", "d"]}), path)
    request = LoadRequest(
        database="RECON", schema=schema, table="orders", strategy="merge", keys=["order_id"],
        window_key="2026-05-01", window_start=DAY_1, window_end=DAY_2, run_id="run-1", parquet_path=path,
    )  # fmt: skip

    result = load_window(warehouse_connection, request)
    monkeypatch.setattr("etl_assets.warehouse.reconcile.expected_rows", lambda *args: pytest.fail("the keys were counted again"))
    reconciled = reconcile_window(warehouse_connection, request, ["order_id"], result)

    assert result.distinct_keys == 3, "counted in the window's file when the table was new"
    assert (reconciled.expected, reconciled.found, reconciled.matches) == (3, 3, True)
    # a later merge into the existing table counted nothing in the file: the reconciliation counts it
    again = load_window(warehouse_connection, dataclasses.replace(request, run_id="run-2"))
    assert again.distinct_keys is None
