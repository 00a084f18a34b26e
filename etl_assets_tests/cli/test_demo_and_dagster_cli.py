"""`etl-assets demo` and plain `dagster asset materialize` over a partition range, as real processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket

import dagster as dg
import pytest
import snowflake.connector

from etl_assets.config.loader import load_config
from etl_assets.demo import demo_windows, lay_sample_uploads, sample_arrival
from etl_assets.ingest.windows import TimeWindow, window_for
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets_tests.cli.conftest import REPO


@pytest.mark.integration
def test_demo_loads_every_dataset_and_prints_a_summary(cli):
    # Bedrock, which writes the leads dataset's script, is unreachable: a closed port on loopback stands for it
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    cli.env.update(AWS_ACCESS_KEY_ID="AKIADEMO", AWS_SECRET_ACCESS_KEY="demo", AWS_ENDPOINT_URL_BEDROCK_RUNTIME=f"http://127.0.0.1:{closed}")
    result = cli.run("demo", "--days", "2")
    assert result.returncode == 0, result.stderr
    lines = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("| ")}
    assert "| 9 | 0 |" in lines["customers"]  # day 1 has 6 rows with one duplicate id, day 2 has 4
    # 8 rows of which one duplicate, then 6 of which one duplicate; eve@example fails the email rule: quarantined
    assert "| 11 | 1 |" in lines["orders"]
    assert "ANALYTICS.RAW.ORDERS" in lines["orders"]
    # 3 leads, then 3 of which one (L-0002) a newer version of day 1's: the template's script loaded them
    assert "| 5 | 0 |" in lines["leads"]
    with dg.DagsterInstance.from_config(str(cli.home / "dagster")) as instance:
        script = instance.get_latest_materialization_event(dg.AssetKey(["scripts", "leads"])).asset_materialization
    assert script.metadata["generator"].value.startswith("template (fallback: Bedrock could not be reached")
    assert LocalEmulator(cli.home / "warehouse").status() is None, "the demo stops the emulator it started"
    assert any((cli.home / "dagster").iterdir()), "runs are recorded in DAGSTER_HOME"

    status = cli.run("status", "--format", "json")
    assert status.returncode == 0, status.stderr
    by_name = {entry["dataset"]: entry for entry in json.loads(status.stdout)}
    assert {name: by_name[name]["rows_in_warehouse"] for name in by_name} == {"customers": 9, "orders": 11, "leads": 5}
    assert {entry["last_window_loaded"] for entry in by_name.values()} == {lines["orders"].split("|")[2].split("…")[1].split("(")[0].strip()}
    for name, line in ((name, lines[name]) for name in by_name):
        # the checks failing at their latest evaluation are those the demo's summary names for its last run
        named = re.search(r"failed \(([^)]*)\)", line)
        assert by_name[name]["checks_failed"] == (sorted(named[1].split(", ")) if named else []), name
        assert by_name[name]["checks_passed"], name
    assert {"range_net_amount", "regex_email"} <= set(by_name["orders"]["checks_failed"])
    table = cli.run("status")
    assert table.returncode == 0 and "Traceback" not in table.stderr
    assert "│ orders    │ ANALYTICS.RAW.ORDERS    │ 11   │" in table.stdout


@pytest.mark.integration
def test_dagster_cli_materializes_a_partition_range_in_one_run(cli):
    landing = cli.home / "landing/orders"
    landing.mkdir(parents=True)
    for day, sample in ((1, "orders_day1.csv"), (2, "orders_day2.csv")):
        target = landing / sample
        shutil.copyfile(REPO / "sample_data/orders" / sample, target)
        arrived = dt.datetime(2026, 11, day, 12, tzinfo=dt.UTC).timestamp()
        os.utime(target, (arrived, arrived))
    result = cli.run(
        "asset", "materialize", "-m", "etl_assets.definitions", "--select", "group:orders",
        "--partition-range", "2026-11-01...2026-11-03",
        command="dagster",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("RUN_SUCCESS") == 1
    connection = snowflake.connector.connect(**LocalEmulator(cli.home / "warehouse").connection_args())
    cursor = connection.cursor()
    cursor.execute('SELECT "time_window_start", COUNT(*) FROM "ANALYTICS"."RAW"."ORDERS" GROUP BY 1 ORDER BY 1')
    # day 1: 7 orders after deduplication, of which eve@example is quarantined by the repository's email rule
    assert [(start.date().isoformat(), count) for start, count in cursor.fetchall()] == [("2026-11-01", 6), ("2026-11-02", 5)]
    cursor.execute('SELECT "order_id" FROM "ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
    assert cursor.fetchall() == [(5005,)]
    connection.close()


def _repo_orders(tmp_path, monkeypatch):
    monkeypatch.setenv("ETL_ASSETS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ETL_LANDING_DIR", raising=False)
    return load_config(REPO / "etl_config.yaml").datasets["orders"]


def test_the_demo_lays_every_sample_already_settled_inside_its_window(tmp_path, monkeypatch):
    orders = _repo_orders(tmp_path, monkeypatch)
    now = dt.datetime.now(dt.UTC)
    windows = demo_windows(orders, 3, now)

    lay_sample_uploads(orders, windows, now)

    arrivals = [dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) for path in sorted((tmp_path / "home/landing/orders").iterdir())]
    assert [window_for(arrived, orders.partitions).key for arrived in arrivals] == [window.key for window in windows]
    assert all(arrived <= now - dt.timedelta(seconds=orders.source.settle_seconds) for arrived in arrivals)


def test_a_window_opened_less_than_the_settle_time_ago_gets_its_sample_at_its_start(tmp_path, monkeypatch):
    orders = _repo_orders(tmp_path, monkeypatch)
    opened = TimeWindow("2026-12-02", dt.datetime(2026, 12, 2, tzinfo=dt.UTC), dt.datetime(2026, 12, 3, tzinfo=dt.UTC))
    three_seconds_in = opened.start + dt.timedelta(seconds=3)

    settled_at = lay_sample_uploads(orders, [opened], three_seconds_in)

    assert sample_arrival(opened, three_seconds_in, orders.source.settle_seconds) == opened.start
    assert settled_at == opened.start + dt.timedelta(seconds=10), "the demo waits 7 s more before it runs"
