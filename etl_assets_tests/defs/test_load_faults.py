"""The load step under faults: wrong keys, a failing window in a range, late files, a killed `dagster` process."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import snowflake.connector
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from etl_assets.config.loader import load_config
from etl_assets.credentials import SnowflakeProfile, Vault
from etl_assets.defs import build_definitions
from etl_assets.defs.resources import LandingZones, ProjectHome, ScriptModels, SnowflakeWarehouse
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.sessions import open_transactions
from etl_assets.defs.pipes_messages import script_client

pytestmark = pytest.mark.integration

TABLE = "snowflake__analytics__faults__events"
MARCH = {day: dt.datetime(2026, 3, day, 9, tzinfo=dt.UTC) for day in range(1, 5)}


class Project:
    """One passthrough dataset `events` (merge on id) in a temporary home, with files landed at chosen times."""

    def __init__(self, root: Path, load: str = "{table: EVENTS, strategy: merge, keys: [id], retry: {attempts: 3, delay_seconds: 1}}"):
        self.home = root / "home"
        self.config_path = root / "etl_config.yaml"
        self.landing = self.home / "landing" / "events"
        self.write_config(load)

    def write_config(self, load: str, connection: str = "local") -> None:
        self.config_path.write_text(
            textwrap.dedent(
                f"""
                datasets:
                  events:
                    source: {{path: "{self.landing}", pattern: "*.csv", settle_seconds: 0}}
                    partitions: {{cadence: daily, start: "2026-01-01"}}
                    warehouse: {{connection: {connection}, database: ANALYTICS, schema: FAULTS}}
                    load: {load}
                """
            )
        )

    def land(self, name: str, content: str, arrived: dt.datetime) -> None:
        self.landing.mkdir(parents=True, exist_ok=True)
        path = self.landing / name
        path.write_text(content)
        os.utime(path, (arrived.timestamp(), arrived.timestamp()))

    def run(self, warehouse_home: Path, first: str, last: str, instance=None) -> dg.ExecuteInProcessResult:
        defs = build_definitions(load_config(self.config_path))
        return dg.materialize(
            [a for a in defs.assets if set((a.group_names_by_key or {}).values()) == {"events"}],
            resources={
                "project": ProjectHome(home=str(self.home)),
                "warehouse": SnowflakeWarehouse(home=str(warehouse_home)),
                "pipes_subprocess_client": script_client(),
                "script_models": ScriptModels(),
                "landing_zones": LandingZones(),
            },
            tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
            instance=instance or dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )


@pytest.fixture
def project(tmp_path, monkeypatch, warehouse_connection) -> Project:
    monkeypatch.setenv("ETL_ASSETS_HOME", str(tmp_path / "home"))
    for table in ("EVENTS", "EVENTS_QUARANTINE", "ETL_ASSETS_LOADS"):
        warehouse_connection.cursor().execute(f'DROP TABLE IF EXISTS "ANALYTICS"."FAULTS"."{table}"')
    return Project(tmp_path)


def events(connection) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute('SELECT "id", "value", "time_window_start" FROM "ANALYTICS"."FAULTS"."EVENTS" ORDER BY 1')
    return [(i, v, start.date().isoformat()) for i, v, start in cursor.fetchall()]


def ledger(connection, run_id: str) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute(
        'SELECT "WINDOW_KEY", "STATUS" FROM "ANALYTICS"."FAULTS"."ETL_ASSETS_LOADS" WHERE "RUN_ID" = %s AND "TABLE_NAME" = \'EVENTS\' '
        'ORDER BY "WINDOW_KEY", "ATTEMPT"',
        (run_id,),
    )
    return cursor.fetchall()


def loading(connection) -> bool:
    """True once a load attempt is staging or applying its rows."""
    cursor = connection.cursor()
    cursor.execute(
        "SELECT COUNT(*) FROM ANALYTICS.information_schema.tables WHERE table_schema = 'FAULTS' AND table_name = 'ETL_ASSETS_LOADS'"
    )
    if not cursor.fetchone()[0]:
        return False
    cursor.execute('SELECT COUNT(*) FROM "ANALYTICS"."FAULTS"."ETL_ASSETS_LOADS" WHERE "STATUS" = \'uploading\'')
    return cursor.fetchone()[0] > 0


def materialized_windows(result: dg.ExecuteInProcessResult) -> list[str]:
    return sorted(m.partition for m in result.asset_materializations_for_node(TABLE))


def step_failure(result: dg.ExecuteInProcessResult) -> str:
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    return failure.step_failure_data.error.message


def retries(result: dg.ExecuteInProcessResult) -> list:
    return [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]


def test_a_wrong_fernet_key_fails_the_load_at_once_without_retries(project, warehouse_home, emulator, monkeypatch):
    monkeypatch.setenv("ETL_ASSETS_FERNET_KEY", Vault.new_key())
    info = emulator.status()
    Vault.for_home(project.home).set("prod", SnowflakeProfile(account="fakesnow", user="fake", password="pw", host=info.host, port=info.port, protocol="http"))
    project.write_config("{table: EVENTS, strategy: merge, keys: [id], retry: {attempts: 3, delay_seconds: 30}}", connection="prod")
    project.land("a.csv", "id,value\n1,a\n", MARCH[1])
    monkeypatch.setenv("ETL_ASSETS_FERNET_KEY", Vault.new_key())

    result = project.run(warehouse_home, "2026-03-01", "2026-03-01")

    assert not result.success and not retries(result)
    assert "ETL_ASSETS_FERNET_KEY" in step_failure(result)
    assert materialized_windows(result) == []


def test_windows_loaded_before_a_permanent_failure_stay_materialized(project, warehouse_home, warehouse_connection):
    project.land("a.csv", "id,value\n1,2\n", MARCH[1])
    project.land("b.csv", "id,value\n2,3\n", MARCH[2])
    # the third window's values are text, which the table's NUMBER column cannot take: a permanent error
    project.land("c.csv", "id,value\n3,not a number\n", MARCH[3])

    result = project.run(warehouse_home, "2026-03-01", "2026-03-03")

    assert not result.success and not retries(result)
    assert "value" in step_failure(result) and "window 2026-03-03" in step_failure(result)
    assert materialized_windows(result) == ["2026-03-01", "2026-03-02"]
    assert ledger(warehouse_connection, result.run_id) == [
        ("2026-03-01", "uploaded"), ("2026-03-02", "uploaded"), ("2026-03-03", "failed"),
    ]  # fmt: skip
    assert [(i, v) for i, v, _ in events(warehouse_connection)] == [(1, 2), (2, 3)]


def test_a_late_file_rerunning_an_old_window_keeps_the_newer_window_rows(project, warehouse_home, warehouse_connection):
    project.land("a.csv", "id,value\n1,old\n", MARCH[1])
    assert project.run(warehouse_home, "2026-03-01", "2026-03-01").success
    project.land("b.csv", "id,value\n1,NEW\n", MARCH[2])
    assert project.run(warehouse_home, "2026-03-02", "2026-03-02").success
    project.land("late.csv", "id,value\n1,old\n2,late\n", MARCH[1] + dt.timedelta(hours=5))

    result = project.run(warehouse_home, "2026-03-01", "2026-03-01")

    assert result.success
    assert events(warehouse_connection) == [(1, "NEW", "2026-03-02"), (2, "late", "2026-03-01")]
    (reconciliation,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "reconciliation"]
    assert reconciliation.passed
    (materialization,) = result.asset_materializations_for_node(TABLE)
    assert materialization.metadata["rows_kept_newer_elsewhere"].value == 1


def test_a_window_without_rows_loads_nothing_and_says_so(project, warehouse_home, warehouse_connection):
    project.land("a.csv", "id,value\n1,a\n", MARCH[1])
    assert project.run(warehouse_home, "2026-03-01", "2026-03-01").success

    result = project.run(warehouse_home, "2026-03-02", "2026-03-02")

    assert result.success
    (materialization,) = result.asset_materializations_for_node(TABLE)
    assert materialization.metadata["not_loaded"].value == "the window has no rows, so nothing was loaded and the table is unchanged"
    assert ledger(warehouse_connection, result.run_id) == [("2026-03-02", "skipped")]
    assert events(warehouse_connection) == [(1, "a", "2026-03-01")]


def test_a_dagster_process_killed_inside_the_load_transaction_blocks_nothing(project, warehouse_home, warehouse_connection, emulator):
    rows = 200_000
    project.land("big.csv", "id,value\n" + "".join(f"{i},v{i}\n" for i in range(rows)), MARCH[1])
    environment = {**os.environ, "ETL_ASSETS_HOME": str(project.home), "ETL_ASSETS_CONFIG": str(project.config_path)}
    environment["DAGSTER_HOME"] = str(project.home / "dagster")
    (project.home / "dagster").mkdir(parents=True, exist_ok=True)
    # the test's emulator serves the load: point the home's warehouse at it
    (project.home / "warehouse").symlink_to(emulator.warehouse_dir)
    dagster = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "etl_assets.definitions",
         "--select", "group:events", "--partition", "2026-03-01"],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    watcher = snowflake.connector.connect(**emulator.connection_args())
    try:
        deadline = time.monotonic() + 300
        while not (loading(watcher) and open_transactions(watcher.cursor())):
            assert time.monotonic() < deadline and dagster.poll() is None, "the load never opened its transaction"
            time.sleep(0.02)
        os.killpg(dagster.pid, signal.SIGKILL)
        dagster.wait()
        assert open_transactions(watcher.cursor()), "the killed client's transaction is left open"
    finally:
        watcher.close()
        if dagster.poll() is None:
            os.killpg(dagster.pid, signal.SIGKILL)

    result = project.run(warehouse_home, "2026-03-01", "2026-03-01")

    assert result.success
    cursor = warehouse_connection.cursor()
    assert cursor.execute('SELECT COUNT(*), COUNT(DISTINCT "id") FROM "ANALYTICS"."FAULTS"."EVENTS"').fetchone() == (rows, rows)
    statuses = cursor.execute('SELECT "STATUS" FROM "ANALYTICS"."FAULTS"."ETL_ASSETS_LOADS" ORDER BY "STARTED_AT"').fetchall()
    assert [s for (s,) in statuses] == ["failed", "uploaded"]
    assert not open_transactions(cursor)


@pytest.fixture
def own_emulator(tmp_path) -> Iterator[LocalEmulator]:
    """An emulator of this test alone, since the test kills it."""
    local = LocalEmulator(tmp_path / "own" / "warehouse")
    local.ensure_running()
    yield local
    local.stop()


def kill_once_window_committed(emulator: LocalEmulator, window_key: str) -> threading.Thread:
    """A thread that SIGKILLs the emulator once the ledger shows `window_key` loaded: while the next window loads."""
    pid = emulator.status().pid

    def watch() -> None:
        with snowflake.connector.connect(**emulator.connection_args()) as watcher:
            cursor = watcher.cursor()
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                with contextlib.suppress(snowflake.connector.errors.ProgrammingError):  # no ledger yet
                    cursor.execute(
                        'SELECT COUNT(*) FROM "ANALYTICS"."FAULTS"."ETL_ASSETS_LOADS" WHERE "WINDOW_KEY" = %s AND "STATUS" = %s',
                        (window_key, "uploaded"),
                    )
                    if cursor.fetchone()[0]:
                        os.kill(pid, signal.SIGKILL)
                        return
                time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


# the connector's own threads fail too once the server is dead, and pytest reports them
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_retry_of_the_run_does_not_load_again_the_windows_it_committed(tmp_path, monkeypatch, own_emulator):
    monkeypatch.setenv("ETL_ASSETS_HOME", str(tmp_path / "home"))
    project = Project(tmp_path, "{table: EVENTS, strategy: append, retry: {attempts: 2, delay_seconds: 0}}")
    project.land("a.csv", "id,value\n1,a\n", MARCH[1])
    project.land("b.csv", "id,value\n2,b\n", MARCH[2])
    # big enough that the warehouse dies while its rows are appended
    project.land("c.csv", "id,value\n" + "".join(f"{i},c\n" for i in range(3, 300_003)), MARCH[3])
    watcher = kill_once_window_committed(own_emulator, "2026-03-02")

    result = project.run(own_emulator.warehouse_dir.parent, "2026-03-01", "2026-03-03")
    watcher.join()

    assert result.success and len(retries(result)) == 1
    assert set(materialized_windows(result)) == {"2026-03-01", "2026-03-02", "2026-03-03"}
    with snowflake.connector.connect(**own_emulator.connection_args()) as connection:
        assert ledger(connection, result.run_id) == [
            ("2026-03-01", "uploaded"), ("2026-03-02", "uploaded"), ("2026-03-03", "failed"), ("2026-03-03", "uploaded"),
        ]  # fmt: skip
        counts = connection.cursor().execute(
            'SELECT "time_window_start", COUNT(*) FROM "ANALYTICS"."FAULTS"."EVENTS" GROUP BY 1 ORDER BY 1'
        ).fetchall()
    assert [rows for _, rows in counts] == [1, 1, 300_000], "no window was appended twice"
