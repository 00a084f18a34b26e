"""A window whose quarantined rows are named by position loads every row but those, alone or in a range, and
refuses positions written for another version of its file, leaving the table as it was."""

from __future__ import annotations

import dataclasses
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.errors import WarehouseError
from etl_assets.excluded_rows import write_excluded
from etl_assets.warehouse.ledger import LoadLedger
from etl_assets.warehouse.load_file import content_fingerprint
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.range_staging import range_groups, staged_range
from etl_assets.warehouse.reconcile import reconcile_window
from etl_assets_tests.warehouse.test_loader import DAY_1, DAY_2, DAY_3, request_for, schema_name, table_rows, write_parquet

pytestmark = pytest.mark.integration
__all__ = ["schema_name"]  # the fixture, used by name


def window_with_excluded(folder, name, columns, excluded_positions):
    path = write_parquet(folder / f"{name}.parquet", columns)
    excluded = folder / f"{name}.rows.parquet"
    write_excluded(path, pa.array(excluded_positions, pa.int64()), excluded)
    return path, excluded


def test_a_window_loads_every_row_but_its_excluded_ones(warehouse_connection, schema_name, tmp_path):
    # order 2 twice: the copy at position 3 is quarantined, so the merge sees order 2 once, as 20
    path, excluded = window_with_excluded(tmp_path, "w", {"order_id": [1, 2, 3, 2, 4, 5], "amount": [10, 20, 30, 99, 40, 50]}, [3, 4])
    request = dataclasses.replace(request_for(path, schema_name, "merge", keys=["order_id"]), excluded_rows=excluded)

    result = load_window(warehouse_connection, request)

    assert (result.rows_staged, result.rows_inserted) == (4, 4)
    assert table_rows(warehouse_connection, schema_name) == [(1, 10), (2, 20), (3, 30), (5, 50)]
    reconciled = reconcile_window(warehouse_connection, request, ["order_id"], result)
    assert (reconciled.expected, reconciled.found, reconciled.matches) == (4, 4, True)


def test_an_append_of_the_same_kept_rows_is_recognised_whatever_else_the_file_holds(warehouse_connection, schema_name, tmp_path):
    path, excluded = window_with_excluded(tmp_path, "w", {"order_id": [1, 2, 3], "amount": [10, 20, 30]}, [1])
    plain = write_parquet(tmp_path / "plain.parquet", {"order_id": [1, 3], "amount": [10, 30]})
    assert content_fingerprint(path, excluded) == content_fingerprint(plain) != content_fingerprint(path)
    ledger = LoadLedger(warehouse_connection, "LOADS", schema_name)

    first = load_window(warehouse_connection, dataclasses.replace(request_for(path, schema_name, "append"), excluded_rows=excluded), ledger)
    again = load_window(warehouse_connection, request_for(plain, schema_name, "append", run_id="run-2"), ledger)

    assert first.rows_inserted == 2 and again.skipped
    assert table_rows(warehouse_connection, schema_name) == [(1, 10), (3, 30)]


def test_positions_written_for_an_earlier_file_refuse_the_load_and_leave_the_table(warehouse_connection, schema_name, tmp_path):
    path, excluded = window_with_excluded(tmp_path, "w", {"order_id": [1, 2, 3], "amount": [10, 20, 30]}, [1])
    request = dataclasses.replace(request_for(path, schema_name, "merge", keys=["order_id"]), excluded_rows=excluded)
    load_window(warehouse_connection, request)
    # a transform rerun wrote the window anew and stopped before its rules listed the new file's quarantined rows
    newer = write_parquet(tmp_path / "newer.parquet", {"order_id": [1, 2, 3], "amount": [11, 21, 31]})
    os.replace(newer, path)

    with pytest.raises(WarehouseError, match="earlier version of w.parquet; rerun the transform"):
        load_window(warehouse_connection, dataclasses.replace(request, run_id="run-2"))
    with pytest.raises(WarehouseError, match="earlier version of w.parquet"):
        with staged_range(warehouse_connection, [dataclasses.replace(request, run_id="run-2")] * 2, lambda step: None):
            pass

    assert table_rows(warehouse_connection, schema_name) == [(1, 10), (3, 30)]


def test_a_range_leaves_out_each_windows_own_excluded_rows(warehouse_connection, schema_name, tmp_path):
    first, first_excluded = window_with_excluded(tmp_path, "d1", {"order_id": [1, 2, 3], "amount": [10, 20, 30]}, [0, 2])
    second, second_excluded = window_with_excluded(tmp_path, "d2", {"order_id": [4, 5, 6], "amount": [40, 50, 60]}, [1])
    nothing, all_excluded = window_with_excluded(tmp_path, "d3", {"order_id": [7], "amount": [70]}, [0])
    requests = [
        dataclasses.replace(request_for(first, schema_name, "merge", keys=["order_id"]), excluded_rows=first_excluded),
        dataclasses.replace(request_for(second, schema_name, "merge", keys=["order_id"], start=DAY_2, end=DAY_3), excluded_rows=second_excluded),
        dataclasses.replace(request_for(nothing, schema_name, "merge", keys=["order_id"], start=DAY_3, end=DAY_3 + (DAY_2 - DAY_1)), excluded_rows=all_excluded),
    ]  # fmt: skip
    assert [[r.window_key for r in group] for group in range_groups(requests)] == [["2026-01-01", "2026-01-02"]], (
        "a window whose every row is excluded has nothing to stage"
    )

    with staged_range(warehouse_connection, requests[:2], lambda step: None) as staged:
        results = [load_window(warehouse_connection, r, None, None, staged[r.window_key]) for r in requests[:2]]

    assert [staged_rows.rows_staged for staged_rows in results] == [1, 2]
    assert table_rows(warehouse_connection, schema_name, '"order_id", "amount", "time_window_start"') == [(2, 20, DAY_1), (4, 40, DAY_2), (6, 60, DAY_2)]
    assert pq.read_metadata(first).num_rows == 3, "the window's own file keeps every row"
