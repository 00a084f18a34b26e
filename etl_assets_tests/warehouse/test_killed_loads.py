"""A loader process killed with SIGKILL at a named step: the table, the ledger and the next attempt stay right."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import snowflake.connector

from etl_assets.warehouse.errors import TransientWarehouseError
from etl_assets.warehouse.ledger import ABANDONED, LoadLedger
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.sessions import current_session, open_transactions
from etl_assets_tests.warehouse.load_until_killed import request

pytestmark = pytest.mark.integration

DATABASE = "KILLED"
FIRST = {"order_id": [1, 2, 3], "amount": [10.0, 20.0, 30.0]}
CHANGED = {"order_id": [1, 2, 4], "amount": [11.0, 22.0, 40.0]}


@pytest.fixture
def schema() -> str:
    return f"S_{uuid.uuid4().hex[:8].upper()}"


def parquet(tmp_path, name: str, columns: dict):
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def load_in_a_process_killed_at(emulator, path, schema: str, strategy: str, run_id: str, step: str) -> None:
    """Run the loader in a child process that SIGKILLs itself when `step` starts."""
    command = [
        sys.executable, "-m", "etl_assets_tests.warehouse.load_until_killed",
        str(emulator.warehouse_dir), str(path), DATABASE, schema, strategy, run_id, step,
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == -signal.SIGKILL, finished.stderr


def table_rows(connection, schema: str) -> list[tuple]:
    sql = f'SELECT "order_id", "amount" FROM "{DATABASE}"."{schema}"."ORDERS" ORDER BY 1, 2'
    return connection.cursor().execute(sql).fetchall()


def history(ledger: LoadLedger) -> list[tuple]:
    rows = sorted(ledger.recent("orders"), key=lambda row: row["started_at"])
    return [(row["run_id"], row["status"]) for row in rows]


def as_rows(columns: dict) -> list[tuple]:
    return sorted(zip(columns["order_id"], columns["amount"], strict=True))


@pytest.mark.parametrize("strategy", ["merge", "replace_window", "append"])
def test_a_load_killed_before_commit_changes_nothing_and_the_next_attempt_neither_fails_nor_waits(
    emulator, warehouse_connection, schema, tmp_path, strategy
):
    ledger = LoadLedger(warehouse_connection, DATABASE, schema)
    load_window(warehouse_connection, request(parquet(tmp_path, "first", FIRST), DATABASE, schema, strategy, "run-1"), ledger)
    changed = parquet(tmp_path, "changed", CHANGED)

    load_in_a_process_killed_at(emulator, changed, schema, strategy, "run-2", "verify")

    assert table_rows(warehouse_connection, schema) == as_rows(FIRST)
    (dead,) = [row for row in ledger.recent("orders") if row["run_id"] == "run-2"]
    assert dead["status"] == "uploading" and dead["session_id"]
    left_open = [t for t in open_transactions(warehouse_connection.cursor()) if str(t["session"]) == dead["session_id"]]
    assert len(left_open) == 1, "the killed client's transaction is still open, holding its locks"

    result = load_window(warehouse_connection, request(changed, DATABASE, schema, strategy, "run-3"), ledger)

    expected = {
        "merge": sorted((dict(as_rows(FIRST)) | dict(as_rows(CHANGED))).items()),
        "replace_window": as_rows(CHANGED),
        "append": sorted(as_rows(FIRST) + as_rows(CHANGED)),
    }
    assert table_rows(warehouse_connection, schema) == expected[strategy]
    assert result.rows_staged == 3
    assert not [t for t in open_transactions(warehouse_connection.cursor()) if str(t["session"]) == dead["session_id"]]
    assert history(ledger) == [("run-1", "uploaded"), ("run-2", "failed"), ("run-3", "uploaded")]
    assert [row["error"] for row in ledger.recent("orders") if row["run_id"] == "run-2"] == [ABANDONED]


def test_a_first_load_killed_after_its_copy_into_the_new_table_leaves_it_empty_and_the_next_attempt_loads(
    emulator, warehouse_connection, schema, tmp_path
):
    # the first merge into a new table copies straight into it: the COPY is inside the transaction the kill ends
    ledger = LoadLedger(warehouse_connection, DATABASE, schema)
    first = parquet(tmp_path, "first", FIRST)

    load_in_a_process_killed_at(emulator, first, schema, "merge", "run-1", "verify")

    assert table_rows(warehouse_connection, schema) == []
    result = load_window(warehouse_connection, request(first, DATABASE, schema, "merge", "run-2"), ledger)
    assert table_rows(warehouse_connection, schema) == as_rows(FIRST)
    assert result.rows_inserted == 3
    assert history(ledger) == [("run-1", "failed"), ("run-2", "uploaded")]


@pytest.mark.parametrize("strategy", ["merge", "append"])
def test_a_load_killed_after_commit_has_its_outcome_in_the_ledger_and_a_rerun_does_not_double_an_append(
    emulator, warehouse_connection, schema, tmp_path, strategy
):
    ledger = LoadLedger(warehouse_connection, DATABASE, schema)
    first = parquet(tmp_path, "first", FIRST)

    load_in_a_process_killed_at(emulator, first, schema, strategy, "run-1", "committed")

    assert table_rows(warehouse_connection, schema) == as_rows(FIRST)
    [row] = ledger.recent("orders")
    assert (row["status"], row["rows_staged"], row["rows_inserted"]) == ("uploaded", 3, 3)

    result = load_window(warehouse_connection, request(first, DATABASE, schema, strategy, "run-2"), ledger)

    assert table_rows(warehouse_connection, schema) == as_rows(FIRST), "the same rows are not loaded twice"
    if strategy == "append":
        assert result.skipped == "run run-1 already appended these same rows to the window, so they were not appended again"
        assert history(ledger) == [("run-1", "uploaded"), ("run-2", "skipped")]
    else:
        assert (result.rows_inserted, result.rows_updated) == (0, 3)
        assert history(ledger) == [("run-1", "uploaded"), ("run-2", "uploaded")]


def test_an_append_of_new_rows_after_the_same_rows_still_appends(warehouse_connection, schema, tmp_path):
    ledger = LoadLedger(warehouse_connection, DATABASE, schema)
    load_window(warehouse_connection, request(parquet(tmp_path, "first", FIRST), DATABASE, schema, "append", "run-1"), ledger)
    result = load_window(
        warehouse_connection, request(parquet(tmp_path, "changed", CHANGED), DATABASE, schema, "append", "run-2"), ledger
    )
    assert result.skipped is None and result.rows_inserted == 3
    assert table_rows(warehouse_connection, schema) == sorted(as_rows(FIRST) + as_rows(CHANGED))


def test_a_retry_of_the_same_run_does_not_load_a_window_it_already_committed(warehouse_connection, schema, tmp_path):
    ledger = LoadLedger(warehouse_connection, DATABASE, schema)
    path = parquet(tmp_path, "first", FIRST)
    first = load_window(warehouse_connection, request(path, DATABASE, schema, "append", "run-1"), ledger)
    again = load_window(warehouse_connection, request(path, DATABASE, schema, "append", "run-1"), ledger)

    assert again.already_loaded and not first.already_loaded
    assert (again.load_id, again.rows_staged, again.rows_inserted, again.rows_in_window) == (first.load_id, 3, 3, 3)
    assert history(ledger) == [("run-1", "uploaded")]
    assert table_rows(warehouse_connection, schema) == as_rows(FIRST)


@pytest.mark.parametrize("step", ["verify", "record"])
def test_a_load_whose_transaction_another_session_aborts_fails_and_its_ledger_row_says_so(
    emulator, warehouse_connection, schema, tmp_path, step
):
    # at "record" the rows are verified and the ledger's outcome is next: written on its own, it would say uploaded
    ledger = LoadLedger(warehouse_connection, DATABASE, schema)
    load_window(warehouse_connection, request(parquet(tmp_path, "first", FIRST), DATABASE, schema, "merge", "run-1"), ledger)
    own_session = current_session(warehouse_connection.cursor())
    other = snowflake.connector.connect(**emulator.connection_args())

    def abort_own_transaction(now: str) -> None:
        if now == step:
            for transaction in open_transactions(other.cursor()):
                if str(transaction["session"]) == own_session:
                    other.cursor().execute(f"SELECT SYSTEM$ABORT_TRANSACTION({transaction['id']})")

    changed = request(parquet(tmp_path, "changed", CHANGED), DATABASE, schema, "merge", "run-2")
    try:
        with pytest.raises(TransientWarehouseError):
            load_window(warehouse_connection, changed, ledger, abort_own_transaction)
    finally:
        other.close()

    assert table_rows(warehouse_connection, schema) == as_rows(FIRST)
    assert history(ledger) == [("run-1", "uploaded"), ("run-2", "failed")]
