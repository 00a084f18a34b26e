"""deploy/dagster.postgres.yaml on a real PostgreSQL server: runs, event log and sensor state land there."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time

import dagster as dg
import pytest
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
    TickData,
    TickStatus,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from etl_assets.demo import DEMO_RUN_TAG
from etl_assets_tests.cli.conftest import REPO
from etl_assets_tests.deploy.conftest import closed_port, connect

CUSTOMERS_UPLOADS = dg.AssetKey(["uploads", "customers"])


def rows_in(database: str, table: str) -> int:
    """Counted by psycopg2 straight from PostgreSQL, so no SQLite file could be answering instead."""
    with connect(database) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        count = cursor.fetchone()[0]
    connection.close()
    return count


@pytest.mark.integration
def test_dagster_cli_records_its_run_and_materializations_in_postgres(pg_cli, pg_database):
    landing = pg_cli.home / "landing/customers"
    landing.mkdir(parents=True)
    target = landing / "customers_day1.csv"
    shutil.copyfile(REPO / "sample_data/customers/customers_day1.csv", target)
    arrived = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC).timestamp()
    os.utime(target, (arrived, arrived))
    result = pg_cli.run(
        "asset", "materialize", "-m", "etl_assets.definitions", "--select", "group:customers", "--partition", "2026-11-20",
        command="dagster",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage) and isinstance(instance.event_log_storage, PostgresEventLogStorage)
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        materialized = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        assert CUSTOMERS_UPLOADS in {record.event_log_entry.asset_materialization.asset_key for record in materialized}
        latest = instance.get_latest_materialization_event(CUSTOMERS_UPLOADS)
        assert latest.run_id == run.run_id and latest.asset_materialization.partition == "2026-11-20"
    assert rows_in(pg_database, "runs") == 1
    assert rows_in(pg_database, "event_logs") > len(materialized)


@pytest.mark.integration
def test_sensor_state_and_ticks_round_trip_through_postgres(pg_instance_env, pg_database):
    code_location = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="etl_assets.definitions"), location_name="etl_assets")
    origin = RemoteInstigatorOrigin(RemoteRepositoryOrigin(code_location, "__repository__"), "customers_uploads")
    selector_id = origin.get_selector().get_id()
    state = InstigatorState(
        origin, InstigatorType.SENSOR, InstigatorStatus.RUNNING, SensorInstigatorData(cursor='{"seen": []}', sensor_type=None)
    )
    tick = TickData(
        instigator_origin_id=origin.get_id(), instigator_name="customers_uploads", instigator_type=InstigatorType.SENSOR,
        status=TickStatus.SKIPPED, timestamp=time.time(), selector_id=selector_id, skip_reason="no settled files",
    )  # fmt: skip
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        instance.add_instigator_state(state)
        instance.create_tick(tick)
    # a second instance reads back what the first wrote: it went through the server, not a cache
    with dg.DagsterInstance.get() as instance:
        stored = instance.get_instigator_state(origin.get_id(), selector_id)
        [stored_tick] = instance.get_ticks(origin.get_id(), selector_id)
    assert stored.status == InstigatorStatus.RUNNING and stored.instigator_data.cursor == '{"seen": []}'
    assert stored_tick.status == TickStatus.SKIPPED and stored_tick.tick_data.skip_reason == "no settled files"
    assert rows_in(pg_database, "instigators") == 1 and rows_in(pg_database, "job_ticks") == 1


@pytest.mark.integration
def test_the_demo_records_every_dataset_run_in_postgres(pg_cli, pg_database):
    # Bedrock, which writes the leads dataset's script, is unreachable: the demo falls back to the template
    pg_cli.env.update(AWS_ACCESS_KEY_ID="AKIADEMO", AWS_SECRET_ACCESS_KEY="demo", AWS_ENDPOINT_URL_BEDROCK_RUNTIME=f"http://127.0.0.1:{closed_port()}")
    result = pg_cli.run("demo", "--days", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
    assert len(runs) == 3, "one run per dataset"
    assert all(DEMO_RUN_TAG in run.tags and run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    assert rows_in(pg_database, "runs") == 3
