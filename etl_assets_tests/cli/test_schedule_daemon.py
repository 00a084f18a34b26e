"""A schedule ticking in the real daemon: `dagster schedule start`, then `dagster-daemon run` launches the run of the
window that has just closed, and the file that landed in it while no sensor was looking loads."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import time

import dagster as dg
import pytest
import snowflake.connector
from dagster._core.scheduler.instigation import TickStatus

from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets_tests.cli.conftest import BIN, REPO

pytestmark = pytest.mark.integration

SCHEDULE = "orders_schedule"


def _scheduled_run(home, deadline: float) -> dg.DagsterRun | None:
    """The schedule's run once it has finished, or None at the deadline."""
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        while time.monotonic() < deadline:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/schedule_name": SCHEDULE}))
            if runs and runs[0].is_finished:
                return runs[0]
            time.sleep(2)
    return None


def _ticks(home) -> list:
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        [state] = [s for s in instance.all_instigator_state() if s.name == SCHEDULE]
        return list(instance.get_ticks(state.instigator_origin_id, state.selector_id))


def test_the_daemon_ticks_the_schedule_and_loads_the_window_just_closed(cli):
    # a tick every minute, so one comes during the test; each still runs the last closed window, yesterday
    config = (REPO / "etl_config.yaml").read_text().replace('schedule: {cron: "15 1 * * *"}', 'schedule: {cron: "* * * * *"}')
    assert 'schedule: {cron: "* * * * *"}' in config
    (cli.home / "etl_config.yaml").write_text(config)
    cli.env["ETL_ASSETS_CONFIG"] = str(cli.home / "etl_config.yaml")
    shutil.copyfile(REPO / "dagster.yaml", cli.home / "dagster/dagster.yaml")
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    landing = cli.home / "landing/orders"
    landing.mkdir(parents=True)
    shutil.copyfile(REPO / "sample_data/orders/orders_day1.csv", landing / "orders_day1.csv")
    os.utime(landing / "orders_day1.csv", (yesterday.timestamp(), yesterday.timestamp()))
    # the upload sensor is off, as if it had missed the file: the schedule's run at the window's close catches it
    for command in (("sensor", "stop", "orders_uploads"), ("schedule", "start", SCHEDULE)):
        result = cli.run(*command, "-w", "workspace.yaml", command="dagster")
        assert result.returncode == 0, result.stderr[-3000:]

    log = (cli.home / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO, env=cli.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        run = _scheduled_run(cli.home, time.monotonic() + 300)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        log.close()
    daemon_log = (cli.home / "daemon.log").read_text()[-3000:]

    assert run is not None, f"no run of {SCHEDULE} finished within 5 minutes; the daemon said:\n{daemon_log}"
    assert run.status == dg.DagsterRunStatus.SUCCESS, daemon_log
    assert run.tags["dagster/partition"] == yesterday.date().isoformat()
    assert any(tick.status == TickStatus.SUCCESS and run.run_id in tick.run_ids for tick in _ticks(cli.home))
    connection = snowflake.connector.connect(**LocalEmulator(cli.home / "warehouse").connection_args())
    try:
        cursor = connection.cursor()
        cursor.execute('SELECT DISTINCT "_source_file", COUNT(*) FROM "ANALYTICS"."RAW"."ORDERS" GROUP BY 1')
        # 8 rows of which one duplicate; eve@example fails the email rule and is quarantined
        assert cursor.fetchall() == [("orders_day1.csv", 6)]
    finally:
        connection.close()
