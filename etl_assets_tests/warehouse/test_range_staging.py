"""A range's windows share one PUT and COPY INTO, and each still loads, commits and is recorded on its own."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.ledger import LoadLedger
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.range_staging import range_groups, staged_range
from etl_assets.warehouse.strategies import KeyFacts
from etl_assets_tests.warehouse.test_loader import DAY_1, DAY_2, DAY_3, request_for, schema_name, stray_tables, table_rows, write_parquet

DAY_4 = DAY_3 + dt.timedelta(days=1)
__all__ = ["schema_name"]  # the fixture, used by name


def window_requests(tmp_path, schema_name, *days_rows, strategy="merge"):
    requests = []
    for index, ((start, end), rows) in enumerate(days_rows):
        path = write_parquet(tmp_path / f"w{index}.parquet", rows)
        requests.append(request_for(path, schema_name, strategy, keys=["order_id"] if strategy == "merge" else [], start=start, end=end))
    return requests


@pytest.mark.integration
def test_a_range_is_put_and_copied_once_and_each_window_commits_its_own_rows(tmp_path, schema_name, warehouse_connection):
    requests = window_requests(
        tmp_path, schema_name,
        ((DAY_1, DAY_2), {"order_id": [1, 2], "amount": [10, 20]}),
        ((DAY_2, DAY_3), {"order_id": [3], "amount": [30]}),
        ((DAY_3, DAY_4), {"order_id": [2, 4], "amount": [21, 40]}),  # order 2 moves to the newest window
    )  # fmt: skip
    ledger = LoadLedger(warehouse_connection, "LOADS", schema_name)
    range_steps, window_steps = [], []

    with staged_range(warehouse_connection, requests, range_steps.append) as staged:
        facts = [staged[r.window_key].key_facts for r in requests]
        results = [load_window(warehouse_connection, r, ledger, window_steps.append, staged[r.window_key]) for r in requests]

    # order 2 is staged by two windows, so both must compare versions; order 3's window only inserts
    assert facts == [KeyFacts(0, 2, True), KeyFacts(0, 1, False), KeyFacts(0, 2, True)]
    assert range_steps == ["put", "copy"], "one PUT and one COPY for the three windows"
    assert "put" not in window_steps and "copy" not in window_steps
    assert window_steps.count("committed") == 3, "each window commits in its own transaction"
    assert [(r.rows_staged, r.rows_inserted, r.rows_updated) for r in results] == [(2, 2, 0), (1, 1, 0), (2, 1, 1)]
    assert table_rows(warehouse_connection, schema_name, '"order_id", "amount", "time_window_start"') == [
        (1, 10, DAY_1), (2, 21, DAY_3), (3, 30, DAY_2), (4, 40, DAY_3),
    ]  # fmt: skip
    statuses = [(entry["window_key"], entry["status"], entry["rows_staged"]) for entry in ledger.recent(limit=10)]
    assert sorted(statuses) == [("2026-01-01", "uploaded", 2), ("2026-01-02", "uploaded", 1), ("2026-01-03", "uploaded", 2)]
    assert stray_tables(warehouse_connection, schema_name) == ["ETL_ASSETS_LOADS"], "the shared staging table is dropped"


@pytest.mark.integration
def test_a_range_never_puts_an_older_row_over_a_newer_one_already_in_the_table(tmp_path, schema_name, warehouse_connection):
    (tmp_path / "newer").mkdir()
    newer = window_requests(tmp_path / "newer", schema_name, ((DAY_3, DAY_4), {"order_id": [5], "amount": [50]}))[0]
    load_window(warehouse_connection, newer)
    late = window_requests(
        tmp_path, schema_name,
        ((DAY_1, DAY_2), {"order_id": [5, 6], "amount": [1, 60]}),  # order 5 is older here than in the table
        ((DAY_2, DAY_3), {"order_id": [7], "amount": [70]}),
    )  # fmt: skip

    with staged_range(warehouse_connection, late, lambda step: None) as staged:
        facts = [staged[r.window_key].key_facts for r in late]
        results = [load_window(warehouse_connection, r, None, None, staged[r.window_key]) for r in late]

    assert facts == [KeyFacts(0, 2, True), KeyFacts(0, 1, False)]
    assert [(r.rows_inserted, r.rows_superseded) for r in results] == [(1, 1), (1, 0)]
    assert table_rows(warehouse_connection, schema_name, '"order_id", "amount", "time_window_start"') == [
        (5, 50, DAY_3), (6, 60, DAY_1), (7, 70, DAY_2),
    ]  # fmt: skip


@pytest.mark.integration
def test_a_window_that_fails_in_a_range_leaves_the_windows_before_it_loaded_and_its_own_unchanged(tmp_path, schema_name, warehouse_connection):
    requests = window_requests(
        tmp_path, schema_name,
        ((DAY_1, DAY_2), {"order_id": [1, 2], "amount": [10, 20]}),
        ((DAY_2, DAY_3), {"order_id": [None, 3], "amount": [0, 30]}),  # a NULL merge key is refused
    )  # fmt: skip
    ledger = LoadLedger(warehouse_connection, "LOADS", schema_name)

    with pytest.raises(WarehouseError, match="no value in merge keys"), staged_range(warehouse_connection, requests, lambda step: None) as staged:
        for request in requests:
            load_window(warehouse_connection, request, ledger, None, staged[request.window_key])

    assert table_rows(warehouse_connection, schema_name) == [(1, 10), (2, 20)]
    assert sorted((e["window_key"], e["status"]) for e in ledger.recent(limit=10)) == [("2026-01-01", "uploaded"), ("2026-01-02", "failed")]
    assert stray_tables(warehouse_connection, schema_name) == ["ETL_ASSETS_LOADS"]


def test_windows_share_a_staging_table_only_with_the_same_schema_and_within_the_row_budget(tmp_path, monkeypatch):
    monkeypatch.setattr("etl_assets.warehouse.range_staging.RANGE_ROWS", 4)
    days = [(DAY_1 + dt.timedelta(days=n), DAY_1 + dt.timedelta(days=n + 1)) for n in range(6)]
    requests = window_requests(
        tmp_path, "S",
        (days[0], {"order_id": [1, 2], "amount": [1, 2]}),
        (days[1], {"order_id": [3], "amount": [3]}),
        (days[2], {"order_id": [4, 5], "amount": [4, 5]}),  # past the budget of 4 rows: a new group
        (days[3], {"order_id": [], "amount": []}),  # empty: nothing to stage
        (days[4], {"order_id": [6], "amount": ["six"]}),  # another schema: a new group
        (days[5], {"order_id": [7], "amount": ["seven"]}),
    )  # fmt: skip
    requests.append(dataclasses.replace(requests[1], window_key="quarantine", load_empty=True))

    groups = [[request.window_key for request in group] for group in range_groups(requests)]

    assert groups == [["2026-01-01", "2026-01-02"], ["2026-01-03"], ["2026-01-05", "2026-01-06"]]
