"""The warehouse dies just before COMMIT: the table keeps its old rows, and the next attempt loads the window fully."""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import snowflake.connector

from etl_assets.warehouse.emulator import LocalEmulator, process_is_alive
from etl_assets.warehouse.errors import TransientWarehouseError
from etl_assets.warehouse.ledger import ABANDONED, LoadLedger
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.model import LoadRequest

pytestmark = pytest.mark.integration

DAY_1 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DAY_2 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
FIRST = {"order_id": [1, 2, 3], "amount": [10.0, 20.0, 30.0]}
CHANGED = {"order_id": [1, 2, 4], "amount": [11.0, 22.0, 40.0]}


@pytest.fixture
def crash_emulator(tmp_path) -> Iterator[LocalEmulator]:
    """An emulator of this test alone, since the test kills it."""
    local = LocalEmulator(tmp_path / "home" / "warehouse")
    local.ensure_running()
    yield local
    local.stop()


def connect(emulator: LocalEmulator):
    # a short network timeout: the connector retries a dead server until it runs out
    return snowflake.connector.connect(**{**emulator.connection_args(), "network_timeout": 2})


def request(path, run_id: str, strategy: str) -> LoadRequest:
    return LoadRequest(
        database="CRASH", schema="RAW", table="ORDERS", strategy=strategy,
        keys=["order_id"] if strategy == "merge" else [],
        window_key="2026-03-01", window_start=DAY_1, window_end=DAY_2, run_id=run_id, parquet_path=path,
        dataset="orders",
    )  # fmt: skip


def table_rows(connection) -> list[tuple]:
    return connection.cursor().execute('SELECT "order_id", "amount" FROM "CRASH"."RAW"."ORDERS" ORDER BY 1').fetchall()


def table_names(connection) -> list[str]:
    cursor = connection.cursor().execute(
        "SELECT table_name FROM \"CRASH\".information_schema.tables WHERE table_schema = 'RAW' ORDER BY 1"
    )
    return [row[0] for row in cursor.fetchall()]


# the connector's own query-cancel thread fails too once the server is dead, and pytest reports that thread
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize(
    ("strategy", "after_rerun"),
    [
        ("replace_window", [(1, 11.0), (2, 22.0), (4, 40.0)]),
        ("merge", [(1, 11.0), (2, 22.0), (3, 30.0), (4, 40.0)]),
    ],
)
def test_killed_warehouse_before_commit_keeps_old_rows_and_rerun_loads_all(
    crash_emulator, tmp_path, strategy, after_rerun
):
    first, changed = tmp_path / "first.parquet", tmp_path / "changed.parquet"
    pq.write_table(pa.table(FIRST), first)
    pq.write_table(pa.table(CHANGED), changed)
    with connect(crash_emulator) as connection:
        load_window(connection, request(first, "run-1", strategy), LoadLedger(connection, "CRASH", "RAW"))

    server_pid = crash_emulator.status().pid
    steps = []

    def kill_at_commit(step: str) -> None:
        steps.append(step)
        if step == "commit":
            os.kill(server_pid, signal.SIGKILL)
            os.waitpid(server_pid, 0)

    connection = connect(crash_emulator)
    ledger = LoadLedger(connection, "CRASH", "RAW")
    with pytest.raises(TransientWarehouseError, match="could not be reached|broke off") as caught:
        load_window(connection, request(changed, "run-2", strategy), ledger, kill_at_commit)
    connection.close()

    assert steps == ["ensure_target", "put", "copy", "begin", "strategy", "verify", "record", "commit"]
    assert "the table's rows are unchanged" in str(caught.value)
    assert "127.0.0.1" not in str(caught.value) and "port" not in str(caught.value)
    assert isinstance(caught.value.__cause__, snowflake.connector.errors.OperationalError)
    assert not process_is_alive(server_pid)

    crash_emulator.ensure_running()
    with connect(crash_emulator) as connection:
        assert table_rows(connection) == sorted(zip(FIRST["order_id"], FIRST["amount"], strict=True))
        ledger = LoadLedger(connection, "CRASH", "RAW")
        result = load_window(connection, request(changed, "run-2", strategy), ledger)
        assert table_rows(connection) == after_rerun
        assert table_names(connection) == ["ETL_ASSETS_LOADS", "ORDERS"]
        history = sorted(ledger.recent("orders"), key=lambda row: row["started_at"])

    assert [(row["run_id"], row["attempt"], row["status"]) for row in history] == [
        ("run-1", 1, "uploaded"),
        ("run-2", 1, "failed"),
        ("run-2", 2, "uploaded"),
    ]
    assert history[1]["error"] == ABANDONED
    assert history[2]["rows_staged"] == result.rows_staged == 3
    assert history[2]["finished_at"] >= history[2]["started_at"]
