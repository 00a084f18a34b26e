"""The local emulator's life cycle: start, reuse, stale state, separate homes, persistence."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
import snowflake.connector

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.emulator import LocalEmulator, process_is_alive

pytestmark = pytest.mark.integration


@pytest.fixture
def local(tmp_path):
    """An emulator of its own, always stopped afterwards."""
    emulator = LocalEmulator(tmp_path / "warehouse")
    yield emulator
    emulator.stop()


def test_start_status_stop(local):
    assert local.status() is None
    info = local.ensure_running()
    assert local.status() == info
    assert json.loads(local.state_file.read_text())["port"] == info.port

    assert local.stop() is True
    assert not process_is_alive(info.pid)
    assert local.status() is None
    assert not local.state_file.exists()
    assert local.stop() is False


def test_sigterm_stops_the_server_and_removes_its_state_file(local):
    info = local.ensure_running()
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while process_is_alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_is_alive(info.pid)
    assert not local.state_file.exists()
    assert local.stop() is False


def test_concurrent_callers_share_one_server(local):
    results = []
    threads = [threading.Thread(target=lambda: results.append(local.ensure_running())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({info.pid for info in results}) == 1
    assert local.ensure_running() == results[0]


def test_stale_state_file_starts_a_new_server(local):
    local.warehouse_dir.mkdir(parents=True)
    local.state_file.write_text(json.dumps({"pid": 2**22 + 1, "port": 1, "host": "127.0.0.1"}))
    info = local.ensure_running()
    assert info.pid != 2**22 + 1
    assert info.port != 1
    assert local.status() == info


def test_two_homes_get_two_servers(local, emulator):
    assert local.ensure_running().port != emulator.status().port


def test_data_persists_across_restart(local):
    local.ensure_running()
    with snowflake.connector.connect(**local.connection_args()) as connection:
        connection.cursor().execute('CREATE DATABASE IF NOT EXISTS "KEEP"')
        connection.cursor().execute('CREATE SCHEMA IF NOT EXISTS "KEEP"."RAW"')
        connection.cursor().execute('CREATE TABLE "KEEP"."RAW"."T" ("id" NUMBER(38,0))')
        connection.cursor().execute('INSERT INTO "KEEP"."RAW"."T" VALUES (1), (2)')
    assert local.stop()
    assert (local.warehouse_dir / "databases" / "KEEP.db").is_file()

    with snowflake.connector.connect(**local.connection_args()) as connection:
        rows = connection.cursor().execute('SELECT "id" FROM "KEEP"."RAW"."T" ORDER BY 1').fetchall()
    assert rows == [(1,), (2,)]


def test_server_that_dies_at_start_reports_its_log(tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    (warehouse / "databases").write_text("a file where the databases folder belongs")
    with pytest.raises(WarehouseError, match="stopped at start") as caught:
        LocalEmulator(warehouse).ensure_running()
    assert "FileExistsError" in str(caught.value)
    assert not (warehouse / "emulator.json").exists()


def test_the_server_database_is_memory_bounded_and_spills_into_its_home(local):
    # DuckDB's own default, 80% of the machine, let the server grow by gigabytes over a big window's load
    local.ensure_running()
    with snowflake.connector.connect(**local.connection_args()) as connection:
        limit, spill = connection.cursor().execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()

    assert limit == "953.6 MiB"  # 1GB as DuckDB reports it
    assert spill == str(local.warehouse_dir / "spill")
