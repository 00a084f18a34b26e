"""The load ledger against the real emulator: statuses, attempts, counts, and rows kept when a load fails."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.errors import PermanentWarehouseError
from etl_assets.warehouse.ledger import ABANDONED, Attempt, LoadLedger
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.model import LoadRequest

pytestmark = pytest.mark.integration

DAY_1 = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
DAY_2 = dt.datetime(2026, 4, 2, tzinfo=dt.UTC)


@pytest.fixture
def ledger(warehouse_connection) -> LoadLedger:
    return LoadLedger(warehouse_connection, "LEDGERS", f"S_{uuid.uuid4().hex[:8].upper()}")


def request(path, ledger: LoadLedger, run_id: str = "run-1", keys=("order_id",)) -> LoadRequest:
    return LoadRequest(
        database="LEDGERS", schema=ledger.schema, table="ORDERS", strategy="merge", keys=list(keys),
        window_key="2026-04-01", window_start=DAY_1, window_end=DAY_2, run_id=run_id, parquet_path=path,
        dataset="orders",
    )  # fmt: skip


def start(ledger: LoadLedger, run_id: str = "run-1", dataset: str = "orders") -> str:
    return ledger.start(
        dataset=dataset, table_name="ORDERS", window_key="2026-04-01", window_start=DAY_1, window_end=DAY_2,
        run_id=run_id, strategy="merge", keys=["order_id"],
    )  # fmt: skip


def test_successful_load_moves_pending_to_uploading_to_uploaded_with_counts(warehouse_connection, ledger, tmp_path):
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"order_id": [1, 2, 2], "amount": [1.0, 2.0, 3.0]}), path)
    seen = {}

    def status_at(step: str) -> None:
        seen[step] = ledger.recent("orders", limit=1)[0]["status"]

    result = load_window(warehouse_connection, request(path, ledger), ledger, status_at)
    [row] = ledger.recent("orders")

    assert (seen["ensure_target"], seen["put"], seen["verify"], seen["cleanup"]) == ("pending", "uploading", "uploading", "uploaded")
    assert row["load_id"] == result.load_id
    assert (row["status"], row["attempt"], row["error"]) == ("uploaded", 1, None)
    assert (row["rows_staged"], row["rows_inserted"], row["rows_updated"], row["rows_deleted"]) == (3, 2, 0, 0)
    assert (row["window_start"], row["window_end"], row["keys"]) == (DAY_1, DAY_2, "order_id")
    assert (row["dataset"], row["table_name"], row["strategy"], row["run_id"]) == ("orders", "ORDERS", "merge", "run-1")
    assert row["started_at"] <= row["finished_at"]


def test_failed_load_records_failed_with_its_error_and_attempts_count_per_run(warehouse_connection, ledger, tmp_path):
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"order_id": [1, None], "amount": [1.0, 2.0]}), path)
    for _ in range(2):
        with pytest.raises(PermanentWarehouseError) as caught:
            load_window(warehouse_connection, request(path, ledger), ledger)
    pq.write_table(pa.table({"order_id": [1, 2], "amount": [1.0, 2.0]}), path)
    load_window(warehouse_connection, request(path, ledger, run_id="run-2"), ledger)

    history = [(r["run_id"], r["attempt"], r["status"], r["error"]) for r in reversed(ledger.recent("orders"))]
    assert history == [
        ("run-1", 1, "failed", str(caught.value)),
        ("run-1", 2, "failed", str(caught.value)),
        ("run-2", 1, "uploaded", None),
    ]
    assert "have no value in merge keys" in str(caught.value)


def test_unfinished_attempt_is_marked_failed_when_the_window_starts_again(ledger):
    abandoned = start(ledger)
    ledger.update(abandoned, "uploading", rows_staged=5)
    other_dataset = start(ledger, dataset="customers")
    start(ledger)

    rows = {row["load_id"]: row for row in ledger.recent()}
    assert (rows[abandoned]["status"], rows[abandoned]["error"], rows[abandoned]["rows_staged"]) == (
        "failed", ABANDONED, 5
    )  # fmt: skip
    assert rows[abandoned]["finished_at"] is not None
    assert rows[other_dataset]["status"] == "pending"
    assert [row["attempt"] for row in ledger.recent("orders")] == [2, 1]


def test_a_range_starts_its_windows_together_and_abandons_those_it_never_reached(ledger):
    earlier = start(ledger)
    attempts = [
        Attempt("orders", "ORDERS", key, start_at, start_at + dt.timedelta(days=1), "run-1", "merge", ("order_id",))
        for key, start_at in (("2026-04-01", DAY_1), ("2026-04-02", DAY_2))
    ]

    first, second = ledger.start_all(attempts)
    ledger.abandon([second], "Not loaded: the range stopped first.")

    rows = {row["load_id"]: row for row in ledger.recent()}
    assert (rows[earlier]["status"], rows[earlier]["error"]) == ("failed", ABANDONED), "the window's unfinished attempt is taken over"
    assert (rows[first]["status"], rows[first]["attempt"], rows[first]["window_key"]) == ("pending", 2, "2026-04-01")
    assert (rows[second]["status"], rows[second]["attempt"], rows[second]["error"]) == ("failed", 1, "Not loaded: the range stopped first.")
    assert rows[second]["finished_at"] is not None and rows[second]["window_start"] == DAY_2
    with pytest.raises(WarehouseError, match="one dataset, table and run"):
        ledger.start_all([attempts[0], dataclasses.replace(attempts[1], run_id="run-2")])


def test_blocked_window_is_finished_without_loading(ledger):
    load_id = start(ledger)
    ledger.finish(load_id, "blocked", error="Rule not_null on order_id failed for 3 rows.")
    [row] = ledger.recent("orders")
    assert (row["status"], row["error"]) == ("blocked", "Rule not_null on order_id failed for 3 rows.")


def test_recent_filters_by_dataset_and_limits(ledger):
    for dataset in ("orders", "customers", "orders"):
        start(ledger, dataset=dataset)
    assert len(ledger.recent()) == 3
    assert {row["dataset"] for row in ledger.recent("customers")} == {"customers"}
    assert len(ledger.recent("orders", limit=1)) == 1


def test_ledger_table_is_queryable_without_quotes(warehouse_connection, ledger):
    start(ledger)
    cursor = warehouse_connection.cursor()
    cursor.execute(f"SELECT status, attempt FROM LEDGERS.{ledger.schema}.ETL_ASSETS_LOADS")
    assert cursor.fetchall() == [("pending", 1)]


def test_unknown_status_or_column_is_refused(ledger):
    load_id = start(ledger)
    with pytest.raises(WarehouseError, match="Unknown ledger status 'done'"):
        ledger.update(load_id, "done")
    with pytest.raises(WarehouseError, match=r"no columns \['rows'\]"):
        ledger.update(load_id, "uploading", rows=3)


def test_refused_request_is_recorded_as_failed(warehouse_connection, ledger, tmp_path):
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"order_id": [1]}), path)
    with pytest.raises(PermanentWarehouseError, match="The merge load of ORDERS needs keys"):
        load_window(warehouse_connection, request(path, ledger, keys=()), ledger)
    [row] = ledger.recent("orders")
    assert (row["status"], row["keys"]) == ("failed", "")
    assert row["error"].startswith("The merge load of ORDERS needs keys")
