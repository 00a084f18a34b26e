"""`etl-assets retention`: the real command lists, then removes, a dataset's expired windows; its refusals are one
sentence."""

from __future__ import annotations

import datetime as dt

import pytest
import snowflake.connector

from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets_tests.project_config import write_project_config

pytestmark = pytest.mark.integration

TODAY = dt.datetime.now(dt.UTC).date()
OLD, KEPT = (TODAY - dt.timedelta(days=30)).isoformat(), (TODAY - dt.timedelta(days=2)).isoformat()


@pytest.fixture
def retention_cli(cli, tmp_path):
    """The cli with `orders` (retention_days 10), `forever` (none) and `remote` (a connection with no credentials)."""
    config = write_project_config(
        tmp_path / "etl_config.yaml",
        f"""
          orders:
            source: {{path: "{cli.home}/landing/orders"}}
            load: {{table: RETAINED_ORDERS}}
            compliance: {{retention_days: 10}}
          forever:
            source: {{path: "{cli.home}/landing/forever"}}
            load: {{table: FOREVER}}
          remote:
            source: {{path: "{cli.home}/landing/remote"}}
            warehouse: {{connection: prod}}
            load: {{table: REMOTE}}
            compliance: {{retention_days: 10}}
        """,
    )
    cli.env["ETL_ASSETS_CONFIG"] = str(config)
    return cli


def seed(home) -> snowflake.connector.SnowflakeConnection:
    """Rows of two windows in the table, and the old window's upload, rejects and archived file."""
    connection = snowflake.connector.connect(**LocalEmulator(home / "warehouse").connection_args())
    cursor = connection.cursor()
    for statement in (
        'CREATE DATABASE IF NOT EXISTS "ANALYTICS"',
        'CREATE SCHEMA IF NOT EXISTS "ANALYTICS"."RAW"',
        'CREATE TABLE "ANALYTICS"."RAW"."RETAINED_ORDERS" ("id" INTEGER, "time_window_start" TIMESTAMP_TZ, "time_window_end" TIMESTAMP_TZ)',
    ):
        cursor.execute(statement)
    for row_id, key in ((1, OLD), (2, OLD), (3, KEPT)):
        start = dt.datetime.fromisoformat(key).replace(tzinfo=dt.UTC)
        cursor.execute('INSERT INTO "ANALYTICS"."RAW"."RETAINED_ORDERS" VALUES (%s, %s, %s)', (row_id, start, start + dt.timedelta(days=1)))
    for relative in (f"lake/orders/uploads/{OLD}.parquet", f"lake/orders/rejects/{OLD}.jsonl", f"archive/orders/{OLD}/abc.csv",
                     f"lake/orders/uploads/{KEPT}.parquet"):  # fmt: skip
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_text("x")
    return connection


def ids(connection) -> list[int]:
    cursor = connection.cursor()
    cursor.execute('SELECT "id" FROM "ANALYTICS"."RAW"."RETAINED_ORDERS" ORDER BY 1')
    return [row[0] for row in cursor.fetchall()]


def test_retention_lists_then_removes_the_expired_windows(retention_cli):
    home = retention_cli.home
    connection = seed(home)
    try:
        dry = retention_cli.run("retention", "--dataset", "orders", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        line = f"  {OLD}: would remove table 2 rows, quarantine 0 rows, 2 lake files, 1 archived files"
        assert line in dry.stdout.splitlines() and "dry run: nothing was changed" in dry.stdout
        assert KEPT not in dry.stdout
        assert ids(connection) == [1, 2, 3] and (home / f"archive/orders/{OLD}/abc.csv").exists()

        done = retention_cli.run("retention", "--dataset", "orders")
        assert done.returncode == 0, done.stderr
        assert f"  {OLD}: removed table 2 rows, quarantine 0 rows, 2 lake files, 1 archived files" in done.stdout.splitlines()
        assert "total: removed 1 window: table 2 rows" in done.stdout
        assert ids(connection) == [3]
        assert not (home / f"archive/orders/{OLD}").exists() and not (home / f"lake/orders/uploads/{OLD}.parquet").exists()
        assert (home / f"lake/orders/uploads/{KEPT}.parquet").read_text() == "x"
        cursor = connection.cursor()
        cursor.execute('SELECT "WINDOW_KEY", "STATUS", "ROWS_DELETED", "ACTOR", "RUN_ID" FROM "ANALYTICS"."RAW"."ETL_ASSETS_LOADS"')
        [(key, status, deleted, actor, run_id)] = cursor.fetchall()
        assert (key, status, deleted, actor) == (OLD, "expired", 2, "retention") and run_id.startswith("cli-")

        again = retention_cli.run("retention", "--dataset", "orders")
        assert again.returncode == 0 and again.stdout.splitlines()[-1] == "total: no window has expired"
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("dataset", "says"),
    [
        ("nope", "has no dataset 'nope'"),
        ("forever", "Dataset 'forever' has no compliance.retention_days"),
        ("remote", "'prod'"),
    ],
)
def test_a_retention_that_cannot_run_says_why_in_one_sentence(retention_cli, dataset, says):
    result = retention_cli.run("retention", "--dataset", dataset)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr
