"""The failed-window alert sensor in the real daemon: the upload sensor's run of a window fails, and the alert sensor
records the window in the ledger on its own tick."""

from __future__ import annotations

import datetime as dt
import os
import textwrap
import time

import pytest
import snowflake.connector

from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets_tests.ui.dagster_dev import dagster_dev

# a row with a field too many is unreadable, and max_reject_percent 0 fails the upload of its window
UNREADABLE = "id,value\n1,2\n2,3,surplus\n"
LEDGER = '"ANALYTICS"."RAW"."ETL_ASSETS_LOADS"'


def _ledger_rows(home, timeout: float = 150) -> list[tuple]:
    """The ledger's rows once there are any, or [] at the deadline; the table exists once something wrote it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = snowflake.connector.connect(**LocalEmulator(home / "warehouse").connection_args())
        try:
            cursor = connection.cursor()
            cursor.execute(f"SELECT DATASET, WINDOW_KEY, STATUS, ERROR, RUN_ID FROM {LEDGER}")
            if rows := cursor.fetchall():
                return rows
        except snowflake.connector.errors.ProgrammingError:
            pass  # no ledger yet
        finally:
            connection.close()
        time.sleep(2)
    return []


@pytest.mark.integration
def test_the_daemon_records_each_window_of_a_failed_run_in_the_ledger(tmp_path):
    home = tmp_path / "home"
    landing = home / "landing" / "events"
    landing.mkdir(parents=True)
    config = tmp_path / "etl_config.yaml"
    config.write_text(textwrap.dedent(f"""
        datasets:
          events:
            source: {{path: "{landing}", pattern: "*.csv", settle_seconds: 0, max_reject_percent: 0}}
            partitions: {{cadence: daily, start: "2026-01-01"}}
            warehouse: {{connection: local, database: ANALYTICS, schema: RAW}}
            load: {{table: EVENTS}}
    """))
    (landing / "events.csv").write_text(UNREADABLE)
    arrived = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC).timestamp()
    os.utime(landing / "events.csv", (arrived, arrived))

    # the upload sensor (running by default) requests the window's run; its upload fails; failed_window_alerts,
    # also running by default, sees the failure on a later tick
    with dagster_dev(home, config=config) as server:
        rows = _ledger_rows(home)
        with server.instance() as instance:
            [run] = instance.get_runs()

    assert run.tags["dagster/sensor_name"] == "events_uploads" and run.status.value == "FAILURE"
    [(dataset, window, status, error, run_id)] = rows
    assert (dataset, window, status, run_id) == ("events", "2026-03-01", "failed", run.run_id)
    assert "\n" not in error and "Traceback" not in error and error, error
