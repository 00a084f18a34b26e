"""Each fakesnow bug the emulator mends is still in upstream fakesnow, and the emulator's fix mends it.

The `upstream` tests run fakesnow as installed, without the emulator's fixes: when an upgrade fixes a bug, its
upstream test fails, and the fix in `emulator_server.py` can go. The `fixed` tests apply the emulator's own fixes
(`apply_fakesnow_fixes`, undone after the test); the `emulator` tests go through the running emulator with the
real connector.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import fakesnow.arrow
import fakesnow.server
import fakesnow.transforms
import pyarrow as pa
import pytest
import snowflake.connector
import snowflake.connector.cursor
from fakesnow.conn import FakeSnowflakeConnection
from fakesnow.instance import FakeSnow
from starlette.testclient import TestClient

from etl_assets.paths import ProjectPaths
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.emulator_server import FAKESNOW_FIXES, _attach_existing_databases, apply_fakesnow_fixes

# fakesnow's own choice of DuckDB API, noted on every fetch
pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning")

MERGE = (
    "MERGE INTO T USING S ON T.ID = S.ID WHEN MATCHED THEN UPDATE SET V = S.V "
    "WHEN NOT MATCHED THEN INSERT (ID, V) VALUES (S.ID, S.V)"
)
NULL_AND_A_TIME = [None, dt.datetime(2026, 1, 2, 3, 4, 5, 600000)]


@pytest.fixture(autouse=True)
def upstream_as_installed():
    """Every test starts from fakesnow as installed: nothing in this process has applied the emulator's fixes."""
    for owner, name, _ in FAKESNOW_FIXES:
        assert getattr(owner, name).__module__.startswith("fakesnow."), f"{name} is patched in the test process"


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    apply_fakesnow_fixes(monkeypatch.setattr)


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[FakeSnowflakeConnection]:
    """A fakesnow connection in this process, its databases as files under tmp_path as the emulator keeps them."""
    connection = FakeSnow(db_path=tmp_path).connect("DB", "S")
    yield connection
    connection.close()


def merge_inside_a_transaction(connection: FakeSnowflakeConnection, in_transaction: bool = True) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute("CREATE TABLE T (ID INT, V TEXT)")
    cursor.execute("CREATE TABLE S (ID INT, V TEXT)")
    cursor.execute("INSERT INTO S VALUES (1, 'new')")
    cursor.execute("BEGIN" if in_transaction else "SELECT 1")
    cursor.execute("INSERT INTO T VALUES (1, 'old'), (2, 'kept')")
    cursor.execute(MERGE)
    cursor.execute("COMMIT" if in_transaction else "SELECT 1")
    return cursor.execute("SELECT ID, V FROM T ORDER BY ID").fetchall()


def test_upstream_merge_in_a_transaction_fails_on_an_empty_table_comment(duck):
    with pytest.raises(duckdb.TransactionException, match="_fs_global"):
        merge_inside_a_transaction(duck)


def test_fixed_merge_in_a_transaction_commits_and_comments_stay(fixed, duck):
    assert merge_inside_a_transaction(duck) == [(1, "new"), (2, "kept")]

    cursor = duck.cursor()
    cursor.execute("CREATE TABLE C (ID INT) COMMENT = 'kept comment'")
    comment = "SELECT COMMENT FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = 'C'"
    assert cursor.execute(comment).fetchall() == [("kept comment",)]


def merge_candidates_left(connection: FakeSnowflakeConnection) -> int:
    """How many temporary merge_candidates tables the session still holds."""
    found = connection._duck_conn.execute(
        "SELECT COUNT(*) FROM duckdb_tables() WHERE temporary AND lower(table_name) = 'merge_candidates'"
    )
    return found.fetchone()[0]


def test_upstream_keeps_each_merges_candidates_table(duck):
    # outside a transaction: upstream cannot merge inside one
    merge_inside_a_transaction(duck, in_transaction=False)

    assert merge_candidates_left(duck) == 1


def test_fixed_merge_drops_its_candidates_table(fixed, duck):
    assert merge_inside_a_transaction(duck) == [(1, "new"), (2, "kept")]

    assert merge_candidates_left(duck) == 0


def test_upstream_encodes_a_null_timestamp_as_a_valid_struct():
    for type_ in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        encoded = fakesnow.arrow.timestamp_to_sf_struct(pa.array(NULL_AND_A_TIME, type_))

        # a valid struct whose epoch is NULL: the connector reads 1970-01-01
        assert encoded.null_count == 0
        assert encoded[0]["epoch"].as_py() is None


def test_fixed_timestamps_keep_their_nulls_and_values(fixed):
    for type_ in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        timestamps = pa.chunked_array([pa.array(NULL_AND_A_TIME, type_), pa.array(NULL_AND_A_TIME[::-1], type_)])

        encoded = fakesnow.arrow.timestamp_to_sf_struct(timestamps)

        assert encoded.is_null().to_pylist() == [True, False, False, True]
        assert encoded[1]["epoch"].as_py() == int(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC).timestamp())
        assert encoded[1]["fraction"].as_py() == 600_000_000


def not_null_violation_over_http() -> tuple[int, dict]:
    """The HTTP status and body fakesnow's server answers to an INSERT that breaks a NOT NULL column."""
    database = f"DB_{uuid.uuid4().hex[:8].upper()}"
    with TestClient(fakesnow.server.app) as client:
        login = client.post(
            "/session/v1/login-request",
            params={"databaseName": database, "schemaName": "S"},
            json={"data": {"SESSION_PARAMETERS": {}}},
        )
        headers = {"Authorization": f'Snowflake Token="{login.json()["data"]["token"]}"'}
        for sql in ("CREATE TABLE T (ID INT, V TEXT NOT NULL)", "INSERT INTO T (ID) VALUES (1)"):
            answer = client.post("/queries/v1/query-request", headers=headers, json={"sqlText": sql})
        client.post("/session", params={"delete": "true"}, headers=headers)
    return answer.status_code, answer.json()


def test_upstream_answers_an_untranslated_error_with_http_500():
    # the connector retries an HTTP 500 until its network timeout
    status, body = not_null_violation_over_http()

    assert (status, body["code"]) == (500, "261000")


def test_fixed_untranslated_error_is_an_sql_error_answered_at_once(fixed):
    status, body = not_null_violation_over_http()

    assert (status, body["success"], body["code"]) == (200, False, "100000")
    assert "NOT NULL constraint failed" in body["message"]


@pytest.mark.slow
def test_upstream_makes_a_stage_folder_at_import(tmp_path: Path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    code = "import fakesnow.transforms.stage as stage; print(stage.LOCAL_BUCKET_PATH)"

    printed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)

    bucket = Path(printed.stdout.strip())
    assert bucket.parent == tmp_path and bucket.name.startswith("fakesnow_bucket_") and bucket.is_dir()


def test_upstream_sees_no_database_nobody_named(tmp_path: Path):
    earlier = FakeSnow(db_path=tmp_path).connect("KEEP", "RAW")
    earlier.cursor().execute("CREATE TABLE T (ID INT)")
    earlier.close()

    restarted = FakeSnow(db_path=tmp_path)

    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="does not exist"):
        restarted.connect().cursor().execute("SELECT ID FROM KEEP.RAW.T")
    _attach_existing_databases(restarted, tmp_path)
    assert restarted.connect().cursor().execute("SELECT ID FROM KEEP.RAW.T").fetchall() == []


@pytest.fixture
def emulator_cursor(warehouse_connection) -> snowflake.connector.cursor.SnowflakeCursor:
    """A cursor of the running emulator, in a schema of its own."""
    schema = f"S_{uuid.uuid4().hex[:8].upper()}"
    cursor = warehouse_connection.cursor()
    cursor.execute('CREATE DATABASE IF NOT EXISTS "PATCHES"')
    cursor.execute(f'CREATE SCHEMA "PATCHES"."{schema}"')
    cursor.execute(f'USE SCHEMA "PATCHES"."{schema}"')
    return cursor


@pytest.mark.integration
def test_emulator_reads_null_timestamps_as_null(emulator_cursor):
    emulator_cursor.execute("CREATE TABLE P (ID INT, NTZ TIMESTAMP_NTZ, TZ TIMESTAMP_TZ)")
    emulator_cursor.execute("INSERT INTO P VALUES (1, NULL, NULL), (2, '2026-01-02 03:04:05', '2026-01-02 03:04:05Z')")

    rows = emulator_cursor.execute("SELECT NTZ, TZ FROM P ORDER BY ID").fetchall()

    assert rows[0] == (None, None)
    assert rows[1][0] == dt.datetime(2026, 1, 2, 3, 4, 5)
    assert rows[1][1] == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.mark.integration
def test_emulator_merges_inside_a_transaction_and_reports_sql_errors(emulator_cursor):
    emulator_cursor.execute("CREATE TABLE T (ID INT, V TEXT NOT NULL)")
    emulator_cursor.execute("CREATE TABLE S (ID INT, V TEXT)")
    emulator_cursor.execute("INSERT INTO S VALUES (1, 'new')")

    emulator_cursor.execute("BEGIN")
    emulator_cursor.execute("INSERT INTO T VALUES (1, 'old'), (2, 'kept')")
    emulator_cursor.execute(MERGE)
    emulator_cursor.execute("COMMIT")

    assert emulator_cursor.execute("SELECT ID, V FROM T ORDER BY ID").fetchall() == [(1, "new"), (2, "kept")]
    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="NOT NULL"):
        emulator_cursor.execute("INSERT INTO T (ID) VALUES (3)")


@pytest.mark.integration
def test_emulator_leaves_no_stage_folder_in_the_temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    emulator = LocalEmulator(ProjectPaths(tmp_path / "home").warehouse)
    try:
        emulator.ensure_running()
    finally:
        emulator.stop()

    assert list(temp.iterdir()) == []
    assert (emulator.warehouse_dir / "stages").is_dir()
