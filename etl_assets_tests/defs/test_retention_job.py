"""The retention job and schedule in the definitions, and a real run of the job deleting an expired window."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from etl_assets.defs import build_definitions
from etl_assets.defs.jobs import DATASET_TAG, dataset_pool
from etl_assets.defs.resources import ProjectHome, SnowflakeWarehouse
from etl_assets_tests.defs.conftest import project_with
from etl_assets_tests.defs.test_chain import run_chain

RETENTION_KEY = dg.AssetKey(["retention", "orders"])
TABLE_KEY = dg.AssetKey(["snowflake", "analytics", "raw", "orders"])
CONFIG = """
  orders:
    source: {path: "{home}/landing/orders", pattern: "*.csv", format: csv}
    partitions: {cadence: daily, start: "2026-01-01", timezone: Europe/Paris}
    transform:
      columns:
        order_id: {from: Order ID, type: integer}
        email: {from: Email, apply: [trim, lower]}
        gross_amount: {from: Gross Amount, type: "decimal(12,2)"}
      deduplicate_on: [order_id]
    load: {table: ORDERS, strategy: merge, keys: [order_id]}
    compliance: {retention_days: 10}
  customers:
    source: {path: "{home}/landing/customers", pattern: "*.csv"}
    load: {table: CUSTOMERS}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    return project_with(tmp_path, monkeypatch, CONFIG)


def test_a_dataset_with_retention_days_gets_a_job_a_running_schedule_and_an_asset_outside_its_group(project):
    defs = build_definitions(project.config)
    graph = defs.resolve_asset_graph()
    node = graph.get(RETENTION_KEY)
    assert node.group_name == "retention" and node.partitions_def is None
    assert node.pools == {dataset_pool(project.config.datasets["orders"])}, "never alongside a load of orders"
    assert RETENTION_KEY not in dg.AssetSelection.groups("orders").resolve(graph), "group:orders --partition X keeps working"
    assert dg.AssetKey(["retention", "customers"]) not in graph.get_all_asset_keys(), "customers keeps its windows"

    job = defs.resolve_job_def("orders_retention")
    assert job.tags[DATASET_TAG] == "orders"
    assert job.asset_layer.selected_asset_keys == {RETENTION_KEY}
    schedule = defs.resolve_schedule_def("orders_retention_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 2 * * *", "Europe/Paris")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING and schedule.job_name == "orders_retention"
    assert [s.name for s in defs.get_repository_def().schedule_defs if "retention" in s.name] == ["orders_retention_schedule"]


def window_rows(connection) -> dict[str, int]:
    cursor = connection.cursor()
    cursor.execute(
        "SELECT TO_VARCHAR(CONVERT_TIMEZONE('Europe/Paris', \"time_window_start\")::DATE), COUNT(*) "
        'FROM "ANALYTICS"."RAW"."ORDERS" GROUP BY 1'
    )
    return {str(day): count for day, count in cursor.fetchall()}


@pytest.mark.integration
def test_the_retention_job_deletes_the_expired_window_and_its_materialization_says_what_went(project, warehouse_home, warehouse_connection):
    warehouse_connection.cursor().execute('DROP TABLE IF EXISTS "ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()
    old, recent = today - dt.timedelta(days=20), today - dt.timedelta(days=3)
    for day, sample in ((old, "orders_day1.csv"), (recent, "orders_day2.csv")):
        project.land("orders", sample, dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC))
        assert run_chain(project, warehouse_home, "orders", day.isoformat(), day.isoformat()).success
    before = window_rows(warehouse_connection)
    assert set(before) == {old.isoformat(), recent.isoformat()}

    defs = build_definitions(project.config)
    job = defs.resolve_job_def("orders_retention")
    resources = {"project": ProjectHome(home=str(project.paths.home)), "warehouse": SnowflakeWarehouse(home=str(warehouse_home))}
    instance = dg.DagsterInstance.ephemeral()

    dry = job.execute_in_process(run_config={"ops": {"retention__orders": {"config": {"dry_run": True}}}}, resources=resources, instance=instance)
    assert dry.success and dry.asset_materializations_for_node("retention__orders") == []
    [observed] = dry.asset_observations_for_node("retention__orders")
    assert observed.metadata["dry_run"].value is True and observed.metadata["windows"].value == old.isoformat()
    assert window_rows(warehouse_connection) == before

    done = job.execute_in_process(resources=resources, instance=instance)
    assert done.success
    [materialized] = done.asset_materializations_for_node("retention__orders")
    metadata = materialized.metadata
    assert metadata["windows"].value == old.isoformat()
    assert metadata["table_rows_deleted"].value == before[old.isoformat()]
    assert metadata["lake_files_removed"].value > 0 and metadata["archived_files_removed"].value > 0
    assert old.isoformat() in metadata["removed"].value
    on_table = [event for event in done.asset_observations_for_node("retention__orders") if event.asset_key == TABLE_KEY]
    assert [(event.partition, event.metadata["rows_deleted"].value) for event in on_table] == [(old.isoformat(), before[old.isoformat()])]
    assert window_rows(warehouse_connection) == {recent.isoformat(): before[recent.isoformat()]}
    assert not project.paths.lake.joinpath("orders", "uploads", f"{old.isoformat()}.parquet").exists()
    assert project.paths.lake.joinpath("orders", "uploads", f"{recent.isoformat()}.parquet").exists()

    cursor = warehouse_connection.cursor()
    cursor.execute(
        'SELECT "WINDOW_KEY", "STATUS", "ROWS_DELETED", "ACTOR" FROM "ANALYTICS"."RAW"."ETL_ASSETS_LOADS" WHERE "RUN_ID" = %s',
        (done.run_id,),
    )
    assert cursor.fetchall() == [(old.isoformat(), "expired", before[old.isoformat()], "retention")]
    assert instance.get_latest_materialization_event(TABLE_KEY) is None, "the table asset is not shown as materialized"

    again = job.execute_in_process(resources=resources, instance=instance)
    assert again.success and again.asset_materializations_for_node("retention__orders") == []
