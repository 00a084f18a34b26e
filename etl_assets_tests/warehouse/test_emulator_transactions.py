"""The emulator's transactions behave as Snowflake's: sessions, SHOW TRANSACTIONS, SYSTEM$ABORT_TRANSACTION, lock waits,
and detached transactions of killed clients, all through the real connector and real client processes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import snowflake.connector
from snowflake.connector.errors import ProgrammingError

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.emulator_server import IDLE_ABORT_ENV
from etl_assets.warehouse.errors import is_transient

pytestmark = pytest.mark.integration

TABLE = '"TXN"."RAW"."{}"'
ROWS = [(1, "a"), (2, "b"), (3, "c")]
IDLE_ABORT_SECONDS = 3.0
# short, so that every lock wait in these tests also takes the connector's "query in progress" polling path
QUERY_IN_PROGRESS_SECONDS = 1.0
SHOW_TRANSACTIONS_COLUMNS = ["id", "user", "session", "name", "started_on", "state", "scope"]
# fakesnow's MERGE needs a current database and schema, which the loader always sets too
IN_SCHEMA = {"database": "TXN", "schema": "RAW"}
CLIENT = """
import json, sys, time
import snowflake.connector
connection = snowflake.connector.connect(**json.loads(sys.argv[1]))
cursor = connection.cursor()
for statement in json.loads(sys.argv[2]):
    cursor.execute(statement)
session, transaction = cursor.execute("SELECT CURRENT_SESSION(), CURRENT_TRANSACTION()").fetchone()
print(json.dumps({"session": session, "transaction": transaction}), flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def patient(tmp_path_factory) -> Iterator[LocalEmulator]:
    """An emulator that aborts idle blocking transactions only after 10 minutes, as good as never in a test."""
    local = LocalEmulator(
        tmp_path_factory.mktemp("patient") / "warehouse",
        idle_abort_seconds=600,
        query_in_progress_seconds=QUERY_IN_PROGRESS_SECONDS,
    )
    local.ensure_running()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def impatient(tmp_path_factory) -> Iterator[LocalEmulator]:
    """An emulator that aborts an idle blocking transaction after a few seconds, set through the environment."""
    local = LocalEmulator(
        tmp_path_factory.mktemp("impatient") / "warehouse", query_in_progress_seconds=QUERY_IN_PROGRESS_SECONDS
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv(IDLE_ABORT_ENV, str(IDLE_ABORT_SECONDS))
        local.ensure_running()
    yield local
    local.stop()


@pytest.fixture
def connect() -> Iterator[Callable[..., snowflake.connector.SnowflakeConnection]]:
    """Open connections to an emulator, with session parameters; all are closed (logged out) at the end."""
    opened = []

    def open_connection(
        emulator: LocalEmulator, session_parameters: dict | None = None, **connect_args
    ) -> snowflake.connector.SnowflakeConnection:
        args = {**emulator.connection_args(), **IN_SCHEMA, **connect_args}
        args["session_parameters"] = {**args["session_parameters"], **(session_parameters or {})}
        opened.append(snowflake.connector.connect(**args))
        return opened[-1]

    yield open_connection
    for connection in opened:
        connection.close()


@pytest.fixture
def killed_client() -> Iterator[Callable[[LocalEmulator, list[str]], dict]]:
    """Run statements in a client process, then kill it with SIGKILL; returns its session and transaction ids."""
    processes = []

    def run_then_kill(emulator: LocalEmulator, statements: list[str]) -> dict:
        args = {**emulator.connection_args(), **IN_SCHEMA}
        command = [sys.executable, "-c", CLIENT, json.dumps(args), json.dumps(statements)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(process)
        line = process.stdout.readline()
        assert line, process.stderr.read()
        process.send_signal(signal.SIGKILL)
        process.wait()
        return json.loads(line)

    yield run_then_kill
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def make_table(connection, name: str, rows=ROWS) -> str:
    table = TABLE.format(name)
    cursor = connection.cursor()
    cursor.execute('CREATE DATABASE IF NOT EXISTS "TXN"')
    cursor.execute('CREATE SCHEMA IF NOT EXISTS "TXN"."RAW"')
    cursor.execute(f'CREATE OR REPLACE TABLE {table} ("id" NUMBER(38,0), "v" VARCHAR)')
    cursor.execute(f"INSERT INTO {table} VALUES " + ", ".join(f"({i}, '{v}')" for i, v in rows))
    return table


def rows_of(connection, table: str) -> list[tuple]:
    return connection.cursor().execute(f'SELECT "id", "v" FROM {table} ORDER BY 1').fetchall()


def show_transactions(connection) -> list[dict]:
    cursor = connection.cursor().execute("SHOW TRANSACTIONS")
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def merge_into(table: str) -> str:
    return (
        f"MERGE INTO {table} t USING (SELECT 2 AS \"id\", 'merged' AS \"v\" UNION ALL SELECT 4, 'new') s "
        'ON t."id" = s."id" WHEN MATCHED THEN UPDATE SET "v" = s."v" '
        'WHEN NOT MATCHED THEN INSERT VALUES (s."id", s."v")'
    )


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, dict]:
    """Run `work` in a thread; the dict gets its result or error and the times it started and ended."""
    outcome: dict = {}

    def run() -> None:
        outcome["started"] = time.monotonic()
        try:
            outcome["result"] = work()
        except Exception as exc:  # the test asserts on it
            outcome["error"] = exc
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_current_session_is_the_login_session_id_as_text(patient, connect):
    first, second = connect(patient), connect(patient)
    (session,) = first.cursor().execute("SELECT CURRENT_SESSION()").fetchone()
    assert session == str(first.session_id)
    assert first.session_id != second.session_id
    assert first.cursor().execute("SELECT CURRENT_SESSION()").description[0].name == "CURRENT_SESSION()"


def test_current_transaction_is_the_open_transaction_id_or_null(patient, connect):
    connection = connect(patient)
    table = make_table(connection, "CURRENT")
    cursor = connection.cursor()
    assert cursor.execute("SELECT CURRENT_TRANSACTION()").fetchone() == (None,)
    cursor.execute("BEGIN")
    (transaction,) = cursor.execute("SELECT CURRENT_TRANSACTION()").fetchone()
    cursor.execute("BEGIN")  # ignored inside a transaction, as on Snowflake
    cursor.execute(f"INSERT INTO {table} VALUES (4, 'd')")
    assert cursor.execute("SELECT CURRENT_TRANSACTION()").fetchone() == (transaction,)
    cursor.execute("COMMIT")
    assert cursor.execute("SELECT CURRENT_TRANSACTION()").fetchone() == (None,)
    assert int(transaction) > 10**18  # Snowflake's ids are start times in nanoseconds
    assert rows_of(connection, table) == [*ROWS, (4, "d")]


def test_an_update_can_require_its_transaction_to_be_the_open_one(patient, connect):
    # how a load writes its ledger outcome only inside its own transaction
    connection = connect(patient)
    table = make_table(connection, "UPDATE_IN_TXN")
    cursor = connection.cursor()
    only_in = f'UPDATE {table} SET "v" = %s WHERE "id" = 1 AND CURRENT_TRANSACTION() = %s'
    assert cursor.execute(only_in, ("outside", "1")).rowcount == 0
    cursor.execute("BEGIN")
    (transaction,) = cursor.execute("SELECT CURRENT_TRANSACTION()").fetchone()
    assert cursor.execute(only_in, ("other", str(int(transaction) + 1))).rowcount == 0
    assert cursor.execute(only_in, ("inside", transaction)).rowcount == 1
    cursor.execute("COMMIT")
    assert rows_of(connection, table) == [(1, "inside"), *ROWS[1:]]


@pytest.mark.parametrize("write", ["delete", "merge"])
def test_show_transactions_lists_a_killed_clients_detached_transaction(patient, connect, killed_client, write):
    observer = connect(patient)
    table = make_table(observer, f"DETACHED_{write.upper()}")
    statement = f'DELETE FROM {table} WHERE "id" <= 2' if write == "delete" else merge_into(table)
    client = killed_client(patient, ["BEGIN TRANSACTION NAME killed_load", statement])

    cursor = observer.cursor().execute("SHOW TRANSACTIONS")
    assert [column.name for column in cursor.description] == SHOW_TRANSACTIONS_COLUMNS
    listed = [row for row in show_transactions(observer) if row["session"] == int(client["session"])]
    assert len(listed) == 1
    row = listed[0]
    assert (row["id"], row["user"], row["name"], row["state"], row["scope"]) == (
        int(client["transaction"]), "FAKE", "killed_load", "running", 0
    )  # fmt: skip
    assert row["started_on"].tzinfo is not None
    assert rows_of(observer, table) == ROWS  # uncommitted work is invisible to others


@pytest.mark.parametrize("write", ["delete", "merge"])
def test_abort_transaction_frees_a_killed_clients_locks_at_once(patient, connect, killed_client, write):
    observer = connect(patient, {"LOCK_TIMEOUT": 0})
    table = make_table(observer, f"ABORTED_{write.upper()}")
    statement = f'DELETE FROM {table} WHERE "id" <= 2' if write == "delete" else merge_into(table)
    client = killed_client(patient, ["BEGIN", statement])
    cursor = observer.cursor()
    with pytest.raises(ProgrammingError) as locked:
        cursor.execute(f'DELETE FROM {table} WHERE "id" = 2')
    assert locked.value.errno == 625 and "LOCK_TIMEOUT" in locked.value.msg

    (answer,) = cursor.execute(f"SELECT SYSTEM$ABORT_TRANSACTION({client['transaction']})").fetchone()
    assert answer == f"Aborted transaction id: {client['transaction']}"
    assert not [row for row in show_transactions(observer) if row["id"] == int(client["transaction"])]
    assert rows_of(observer, table) == ROWS  # the killed client's changes are gone
    cursor.execute(merge_into(table) if write == "merge" else f'DELETE FROM {table} WHERE "id" = 2')
    expected = [(1, "a"), (2, "merged"), (3, "c"), (4, "new")] if write == "merge" else [(1, "a"), (3, "c")]
    assert rows_of(observer, table) == expected


def test_abort_transaction_takes_the_id_as_text_or_bound(patient, connect):
    owner, other = connect(patient), connect(patient)
    owner.cursor().execute("BEGIN")
    (first,) = owner.cursor().execute("SELECT CURRENT_TRANSACTION()").fetchone()
    (answer,) = other.cursor().execute(f"SELECT SYSTEM$ABORT_TRANSACTION('{first}')").fetchone()
    assert answer == f"Aborted transaction id: {first}"

    with pytest.raises(ProgrammingError, match=f"Transaction {first} was aborted"):
        owner.cursor().execute("BEGIN")  # the owner hears of the abort once
    owner.cursor().execute("BEGIN")
    (second,) = owner.cursor().execute("SELECT CURRENT_TRANSACTION()").fetchone()
    bound = connect(patient, paramstyle="qmark")  # sent as a bind variable, for the server to read
    (answer,) = bound.cursor().execute("SELECT SYSTEM$ABORT_TRANSACTION(?)", [int(second)]).fetchone()
    assert answer == f"Aborted transaction id: {second}"


def test_abort_transaction_of_an_unknown_or_ended_transaction(patient, connect):
    connection = connect(patient)
    cursor = connection.cursor()
    with pytest.raises(ProgrammingError, match="Transaction 12345 does not exist") as unknown:
        cursor.execute("SELECT SYSTEM$ABORT_TRANSACTION(12345)")
    assert unknown.value.errno == 2003
    cursor.execute("BEGIN")
    (ended,) = cursor.execute("SELECT CURRENT_TRANSACTION()").fetchone()
    cursor.execute("COMMIT")
    (answer,) = cursor.execute(f"SELECT SYSTEM$ABORT_TRANSACTION({ended})").fetchone()
    assert answer == f"Transaction id {ended} was not running: it had already been committed, and stays so."


def test_a_live_session_whose_transaction_was_aborted_hears_of_it(patient, connect):
    owner, other = connect(patient), connect(patient, {"LOCK_TIMEOUT": 5})
    table = make_table(owner, "LIVE_ABORTED")
    cursor = owner.cursor()
    cursor.execute("BEGIN")
    cursor.execute(f'DELETE FROM {table} WHERE "id" = 1')
    (transaction,) = cursor.execute("SELECT CURRENT_TRANSACTION()").fetchone()
    other.cursor().execute(f"SELECT SYSTEM$ABORT_TRANSACTION({transaction})")

    with pytest.raises(ProgrammingError, match=f"Transaction {transaction} was aborted") as cancelled:
        cursor.execute("COMMIT")
    assert cancelled.value.errno == 604
    assert rows_of(owner, table) == ROWS
    other.cursor().execute(f'DELETE FROM {table} WHERE "id" = 3')  # the lock is free
    assert rows_of(owner, table) == [(1, "a"), (2, "b")]


def test_a_writer_waits_for_an_idle_detached_transaction_then_proceeds(impatient, connect, killed_client):
    writer = connect(impatient)
    table = make_table(writer, "IDLE_DETACHED")
    client = killed_client(impatient, ["BEGIN", f"DELETE FROM {table}", merge_into(table)])
    assert [row["id"] for row in show_transactions(writer)] == [int(client["transaction"])]

    started = time.monotonic()
    writer.cursor().execute(f"UPDATE {table} SET \"v\" = 'updated' WHERE \"id\" = 3")
    waited = time.monotonic() - started

    assert QUERY_IN_PROGRESS_SECONDS < waited < IDLE_ABORT_SECONDS + 5
    assert rows_of(writer, table) == [(1, "a"), (2, "b"), (3, "updated")]
    assert show_transactions(writer) == []
    log = (impatient.warehouse_dir / "emulator.log").read_text()
    assert f"aborting transaction {client['transaction']}: idle for" in log


def test_a_live_session_waits_for_another_sessions_commit(patient, connect):
    first, second = connect(patient), connect(patient)
    table = make_table(first, "TWO_WRITERS")
    cursor = first.cursor()
    cursor.execute("BEGIN")
    cursor.execute(f'DELETE FROM {table} WHERE "id" = 1')
    thread, outcome = in_thread(lambda: second.cursor().execute(merge_into(table)).rowcount)
    time.sleep(QUERY_IN_PROGRESS_SECONDS + 1)
    assert thread.is_alive()  # waiting for the lock

    cursor.execute(f"INSERT INTO {table} VALUES (5, 'first')")
    committed = time.monotonic()
    cursor.execute("COMMIT")
    thread.join(timeout=30)

    assert "error" not in outcome and outcome["result"] == 2
    assert outcome["ended"] >= committed
    assert rows_of(first, table) == [(2, "merged"), (3, "c"), (4, "new"), (5, "first")]


def test_lock_timeout_fails_the_waiting_statement_with_a_transient_error(patient, connect):
    holder, waiter = connect(patient), connect(patient, {"LOCK_TIMEOUT": 1})
    table = make_table(holder, "LOCK_TIMEOUT")
    holder.cursor().execute("BEGIN")
    holder.cursor().execute(f"UPDATE {table} SET \"v\" = 'holder'")
    started = time.monotonic()
    with pytest.raises(ProgrammingError) as timed_out:
        waiter.cursor().execute(f"UPDATE {table} SET \"v\" = 'waiter'")

    assert 1 <= time.monotonic() - started < 10
    assert timed_out.value.errno == 625 and timed_out.value.sqlstate == "57014"
    assert "LOCK_TIMEOUT of 1 seconds" in timed_out.value.msg and is_transient(timed_out.value)
    holder.cursor().execute("ROLLBACK")
    assert rows_of(waiter, table) == ROWS


def test_lock_timeout_set_by_alter_session(patient, connect):
    holder, waiter = connect(patient), connect(patient)
    table = make_table(holder, "ALTER_LOCK_TIMEOUT")
    holder.cursor().execute("BEGIN")
    holder.cursor().execute(f"DELETE FROM {table}")
    waiter.cursor().execute("ALTER SESSION SET LOCK_TIMEOUT = 0")
    with pytest.raises(ProgrammingError, match="LOCK_TIMEOUT of 0 seconds"):
        waiter.cursor().execute(f"DELETE FROM {table}")
    holder.cursor().execute("ROLLBACK")
    waiter.cursor().execute(f'DELETE FROM {table} WHERE "id" = 1')
    assert rows_of(waiter, table) == ROWS[1:]


def test_a_deadlock_fails_the_statement_that_closes_the_cycle(patient, connect):
    first, second = connect(patient), connect(patient)
    left, right = make_table(first, "DEADLOCK_LEFT"), make_table(first, "DEADLOCK_RIGHT")
    first.cursor().execute("BEGIN")
    first.cursor().execute(f'DELETE FROM {left} WHERE "id" = 1')
    second.cursor().execute("BEGIN")
    second.cursor().execute(f'DELETE FROM {right} WHERE "id" = 1')
    thread, outcome = in_thread(lambda: first.cursor().execute(f'DELETE FROM {right} WHERE "id" = 2').rowcount)
    time.sleep(1.5)  # until the first session waits for the second's lock

    with pytest.raises(ProgrammingError, match="deadlock") as deadlock:
        second.cursor().execute(f'DELETE FROM {left} WHERE "id" = 2')
    assert deadlock.value.errno == 625
    assert second.cursor().execute("SELECT CURRENT_TRANSACTION()").fetchone() != (None,)  # still open
    second.cursor().execute("ROLLBACK")
    thread.join(timeout=30)
    first.cursor().execute("COMMIT")

    assert "error" not in outcome and outcome["result"] == 1
    assert rows_of(first, left) == ROWS[1:]
    assert rows_of(first, right) == [(1, "a"), (3, "c")]


def test_closing_a_session_rolls_back_its_transaction(patient, connect):
    owner, other = connect(patient), connect(patient, {"LOCK_TIMEOUT": 0})
    table = make_table(owner, "CLOSED")
    owner.cursor().execute("BEGIN")
    owner.cursor().execute(f'DELETE FROM {table} WHERE "id" = 1')
    owner.close()

    assert rows_of(other, table) == ROWS
    other.cursor().execute(f'DELETE FROM {table} WHERE "id" = 1')  # the row the closed session had deleted
    assert rows_of(other, table) == ROWS[1:]


def test_autocommit_off_dml_opens_a_transaction_until_commit(patient, connect):
    owner, other = connect(patient, {"AUTOCOMMIT": False}), connect(patient, {"LOCK_TIMEOUT": 0})
    table = make_table(other, "AUTOCOMMIT_OFF")
    owner.cursor().execute(f'DELETE FROM {table} WHERE "id" = 1')
    (transaction,) = owner.cursor().execute("SELECT CURRENT_TRANSACTION()").fetchone()
    listed = [row["id"] for row in show_transactions(other) if row["session"] == owner.session_id]
    assert listed == [int(transaction)]
    with pytest.raises(ProgrammingError, match="LOCK_TIMEOUT"):
        other.cursor().execute(f'DELETE FROM {table} WHERE "id" = 2')
    owner.cursor().execute("COMMIT")
    other.cursor().execute(f'DELETE FROM {table} WHERE "id" = 2')
    assert rows_of(other, table) == [(3, "c")]


def test_reads_and_other_tables_do_not_wait(patient, connect):
    holder, reader = connect(patient), connect(patient, {"LOCK_TIMEOUT": 0})
    locked, free = make_table(holder, "LOCKED"), make_table(holder, "FREE")
    holder.cursor().execute("BEGIN")
    holder.cursor().execute(f"DELETE FROM {locked}")
    assert rows_of(reader, locked) == ROWS
    reader.cursor().execute(f'DELETE FROM {free} WHERE "id" = 1')
    assert rows_of(reader, free) == ROWS[1:]
    holder.cursor().execute("ROLLBACK")


@pytest.mark.parametrize("value", ["soon", "nan", "0"])
def test_invalid_idle_abort_seconds_stops_the_emulator_at_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv(IDLE_ABORT_ENV, value)
    local = LocalEmulator(tmp_path / "warehouse")
    try:
        with pytest.raises(WarehouseError, match="stopped at start") as caught:
            local.ensure_running()
    finally:
        local.stop()  # should it have started after all
    assert f"'{value}' is not a number of seconds above 0; correct --idle-abort-seconds" in str(caught.value)
    assert IDLE_ABORT_ENV in str(caught.value)


def test_a_wait_longer_than_the_clients_socket_timeout_ends_with_the_statements_result(patient, connect):
    holder, waiter = connect(patient), connect(patient, socket_timeout=2)
    table = make_table(holder, "LONG_WAIT")
    holder.cursor().execute("BEGIN")
    holder.cursor().execute(f'DELETE FROM {table} WHERE "id" = 1')
    thread, outcome = in_thread(lambda: waiter.cursor().execute(f'DELETE FROM {table} WHERE "id" = 2').rowcount)
    time.sleep(4)  # twice the socket timeout: the client keeps polling for the result meanwhile
    holder.cursor().execute("COMMIT")
    thread.join(timeout=30)

    assert "error" not in outcome and outcome["result"] == 1
    assert rows_of(holder, table) == [(3, "c")]
