"""The failed-window alert sensor on real failed runs: ledger rows, one JSON log line per window, one hook payload per run."""

from __future__ import annotations

import datetime as dt
import json
import os
import textwrap
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from etl_assets.config.loader import load_config
from etl_assets.defs import build_definitions
from etl_assets.defs.alerts import ALERT_SENSOR_NAME
from etl_assets.defs.pipes_messages import script_client
from etl_assets.defs.resources import LandingZones, ProjectHome, ScriptModels, SnowflakeWarehouse
from etl_assets_tests import alert_hooks
from etl_assets_tests.alert_hooks import loopback_webhook

pytestmark = pytest.mark.integration

MARCH = {day: dt.datetime(2026, 3, day, 9, tzinfo=dt.UTC) for day in range(1, 5)}
# a row with a field too many is unreadable, and max_reject_percent 0 fails the upload of its window
UNREADABLE = "id,value\n1,2\n2,3,surplus\n"


class Project:
    """One passthrough dataset `events` (merge on id) into ANALYTICS.ALERTS of `connection`, with alerts to
    `webhook_url` and `hook`."""

    def __init__(self, root: Path, warehouse_home: Path, webhook_url: str = "", hook: str = "remember", connection: str = "local"):
        self.home = root / "home"
        self.landing = self.home / "landing" / "events"
        self.warehouse_home = warehouse_home
        self.config_path = root / "etl_config.yaml"
        self.config_path.write_text(textwrap.dedent(f"""
            datasets:
              events:
                source: {{path: "{self.landing}", pattern: "*.csv", settle_seconds: 0, max_reject_percent: 0}}
                partitions: {{cadence: daily, start: "2026-01-01"}}
                warehouse: {{connection: {connection}, database: ANALYTICS, schema: ALERTS}}
                load: {{table: EVENTS, strategy: merge, keys: [id], retry: {{attempts: 1}}}}
            alerts:
              webhook: {{url: "{webhook_url}"}}
              hook: etl_assets_tests.alert_hooks:{hook}
        """))
        self.defs = build_definitions(load_config(self.config_path))
        self.instance = dg.DagsterInstance.ephemeral()

    def land(self, name: str, content: str, arrived: dt.datetime) -> None:
        self.landing.mkdir(parents=True, exist_ok=True)
        (self.landing / name).write_text(content)
        os.utime(self.landing / name, (arrived.timestamp(), arrived.timestamp()))

    def resources(self) -> dict:
        return {
            "project": ProjectHome(home=str(self.home)),
            "warehouse": SnowflakeWarehouse(home=str(self.warehouse_home)),
            "pipes_subprocess_client": script_client(),
            "script_models": ScriptModels(),
            "landing_zones": LandingZones(),
        }

    def materialize(self, **window) -> dg.ExecuteInProcessResult:
        """`dagster asset materialize` of the dataset's assets, for `partition_key=` or a range's `tags=`."""
        assets = [a for a in self.defs.assets if set((a.group_names_by_key or {}).values()) == {"events"}]
        return dg.materialize(assets, resources=self.resources(), instance=self.instance, raise_on_error=False, **window)

    def run_job(self, first: str, last: str) -> dg.ExecuteInProcessResult:
        """The dataset's job, as the upload sensor and backfills launch it, over a range."""
        job = self.defs.resolve_job_def("events_chain")
        tags = {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
        return job.execute_in_process(resources=self.resources(), instance=self.instance, raise_on_error=False, tags=tags)

    def alert(self, result: dg.ExecuteInProcessResult) -> None:
        """Evaluate the alert sensor on the failed run, as the daemon does when the run fails."""
        assert not result.success
        with dg.build_run_status_sensor_context(
            sensor_name=ALERT_SENSOR_NAME,
            dagster_event=result.get_run_failure_event(),
            dagster_instance=self.instance,
            dagster_run=result.dagster_run,
            resources={"warehouse": SnowflakeWarehouse(home=str(self.warehouse_home)), "project": ProjectHome(home=str(self.home))},
        ) as context:
            self.defs.resolve_sensor_def(ALERT_SENSOR_NAME)(context)


@pytest.fixture
def project(tmp_path, monkeypatch, warehouse_home, warehouse_connection) -> Project:
    monkeypatch.setenv("ETL_ASSETS_HOME", str(tmp_path / "home"))
    for table in ("EVENTS", "EVENTS_QUARANTINE", "ETL_ASSETS_LOADS"):
        warehouse_connection.cursor().execute(f'DROP TABLE IF EXISTS "ANALYTICS"."ALERTS"."{table}"')
    alert_hooks.RECEIVED.clear()
    yield Project(tmp_path, warehouse_home)
    alert_hooks.RECEIVED.clear()


def ledger(connection, run_id: str) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute(
        'SELECT "DATASET", "TABLE_NAME", "WINDOW_KEY", "WINDOW_START", "WINDOW_END", "STATUS", "ERROR" '
        'FROM "ANALYTICS"."ALERTS"."ETL_ASSETS_LOADS" WHERE "RUN_ID" = %s ORDER BY "WINDOW_KEY", "ATTEMPT"',
        (run_id,),
    )
    return [(d, t, key, start.date().isoformat(), end.date().isoformat(), status, error) for d, t, key, start, end, status, error in cursor.fetchall()]


def alert_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "etl_assets.alerts" and r.getMessage().startswith("{")]


def test_the_sensor_is_running_by_default(project):
    sensor = project.defs.resolve_sensor_def(ALERT_SENSOR_NAME)

    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert isinstance(sensor, dg.RunStatusSensorDefinition)


def test_a_failed_window_is_recorded_logged_and_sent_once(project, warehouse_connection, caplog):
    project.land("a.csv", UNREADABLE, MARCH[1])
    result = project.materialize(partition_key="2026-03-01")

    with caplog.at_level("INFO", logger="etl_assets.alerts"):
        project.alert(result)
        project.alert(result)  # a second evaluation of the same run writes no second row

    (row,) = ledger(warehouse_connection, result.run_id)
    assert row[:6] == ("events", "EVENTS", "2026-03-01", "2026-03-01", "2026-03-02", "failed")
    error = row[6]
    assert "max_reject_percent" in error and "\n" not in error and "Traceback" not in error and "Failure:" not in error
    (line, again) = alert_lines(caplog)
    assert line == {
        "event": "etl_assets.window_failed", "dataset": "events", "table": "ANALYTICS.ALERTS.EVENTS", "window": "2026-03-01",
        "window_start": "2026-03-01T00:00:00+00:00", "window_end": "2026-03-02T00:00:00+00:00", "run_id": result.run_id,
        "job": result.dagster_run.job_name, "error": error, "ledger": "recorded",
    }  # fmt: skip
    assert again == {**line, "ledger": "already recorded"}
    assert alert_hooks.RECEIVED[0] == {
        "text": f"ETL load failed: events window 2026-03-01 (run {result.run_id[:8]}): {error}", "event": "etl_assets.run_failed",
        **{key: line[key] for key in ("dataset", "table", "run_id", "job", "error")},
        "windows": [{key: line[key] for key in ("window", "window_start", "window_end", "error", "ledger")}],
    }  # fmt: skip


def test_every_window_of_a_failed_range_is_recorded_and_posted_to_the_webhook(tmp_path, warehouse_home, warehouse_connection, project, caplog):
    project.land("a.csv", "id,value\n1,2\n", MARCH[1])
    project.land("b.csv", UNREADABLE, MARCH[2])
    project.land("c.csv", "id,value\n3,4\n", MARCH[3])
    with loopback_webhook() as webhook:
        hooked = Project(tmp_path, warehouse_home, webhook_url=webhook.url)
        result = hooked.run_job("2026-03-01", "2026-03-03")
        with caplog.at_level("INFO", logger="etl_assets.alerts"):
            hooked.alert(result)

    rows = ledger(warehouse_connection, result.run_id)
    assert [(key, start, end, status) for _, _, key, start, end, status, _ in rows] == [
        ("2026-03-01", "2026-03-01", "2026-03-02", "failed"),
        ("2026-03-02", "2026-03-02", "2026-03-03", "failed"),
        ("2026-03-03", "2026-03-03", "2026-03-04", "failed"),
    ]
    assert len({error for *_, error in rows}) == 1 and "b.csv" in rows[0][6]
    lines = alert_lines(caplog)
    assert [(line["window"], line["job"], line["ledger"]) for line in lines] == [
        ("2026-03-01", "events_chain", "recorded"), ("2026-03-02", "events_chain", "recorded"), ("2026-03-03", "events_chain", "recorded"),
    ]  # fmt: skip
    # one message for the run, however many windows it had
    assert [(path, kind) for path, kind, _ in webhook.posts] == [("/hooks/etl", "application/json")]
    assert [body for _, _, body in webhook.posts] == alert_hooks.RECEIVED
    [body] = alert_hooks.RECEIVED
    assert body["text"].startswith(f"ETL load failed: events 3 windows, 2026-03-01 to 2026-03-03 (run {result.run_id[:8]}): ")
    assert [window["window"] for window in body["windows"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]


def test_a_window_the_load_marked_failed_gets_no_second_row_and_loaded_windows_no_alert(project, warehouse_connection, caplog):
    project.land("a.csv", "id,value\n1,2\n", MARCH[1])
    project.land("b.csv", "id,value\n2,3\n", MARCH[2])
    # the third window's values are text, which the table's NUMBER column cannot take: the load fails it
    project.land("c.csv", "id,value\n3,not a number\n", MARCH[3])
    result = project.materialize(tags={ASSET_PARTITION_RANGE_START_TAG: "2026-03-01", ASSET_PARTITION_RANGE_END_TAG: "2026-03-03"})
    before = ledger(warehouse_connection, result.run_id)

    with caplog.at_level("INFO", logger="etl_assets.alerts"):
        project.alert(result)

    assert ledger(warehouse_connection, result.run_id) == before
    assert [(key, status) for _, _, key, _, _, status, _ in before] == [("2026-03-01", "uploaded"), ("2026-03-02", "uploaded"), ("2026-03-03", "failed")]
    (line,) = alert_lines(caplog)
    assert (line["window"], line["ledger"], line["error"]) == ("2026-03-03", "already recorded", before[2][6])
    assert [[window["window"] for window in payload["windows"]] for payload in alert_hooks.RECEIVED] == [["2026-03-03"]]


def test_a_failing_hook_and_an_unreachable_warehouse_still_leave_the_log_line(tmp_path, warehouse_home, monkeypatch, caplog):
    monkeypatch.setenv("ETL_ASSETS_HOME", str(tmp_path / "home"))
    # the vault holds no profile `prod`: the ledger cannot be reached
    project = Project(tmp_path, warehouse_home, hook="explode", connection="prod")
    project.land("a.csv", UNREADABLE, MARCH[1])
    result = project.materialize(partition_key="2026-03-01")

    with caplog.at_level("INFO", logger="etl_assets.alerts"):
        project.alert(result)

    (line,) = alert_lines(caplog)
    assert line["window"] == "2026-03-01" and "max_reject_percent" in line["error"]
    assert line["ledger"].startswith("not recorded: ") and "no credentials profile 'prod'" in line["ledger"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"The alert hook etl_assets_tests.alert_hooks:explode failed for events run {result.run_id[:8]} (RuntimeError: hook broke "
        "on 2026-03-01); the failure is in the ledger and the log all the same."
    ]
