"""Schedules and freshness from the config: one schedule per enabled dataset, each tick runs the window just closed;
a freshness policy on the table, and with a deadline a freshness check that names the window a late feed holds back."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from etl_assets.config.loader import load_config
from etl_assets.defs import build_definitions
from etl_assets.defs.freshness import window_due
from etl_assets.defs.jobs import DATASET_TAG
from etl_assets_tests.project_config import write_project_config

DATASETS = """
    orders:
      source: {path: /landing/orders}
      load: {table: ORDERS}
      freshness: {warn_after: 26h, fail_after: 2d, deadline: 6h}
    customers:
      source: {path: /landing/customers}
      load: {table: CUSTOMERS}
      schedule: {enabled: false}
    clicks:
      source: {path: /landing/clicks}
      partitions: {cadence: hourly, start: "2026-01-01", timezone: Europe/Paris}
      load: {table: CLICKS}
    refunds:
      source: {path: /landing/refunds}
      load: {table: REFUNDS}
      schedule: {cron: "15 6 * * *"}
"""


@pytest.fixture
def defs(tmp_path) -> dg.Definitions:
    return build_definitions(load_config(write_project_config(tmp_path / "etl_config.yaml", DATASETS), environ={}))


def tick(defs: dg.Definitions, name: str, at: dt.datetime) -> dg.RunRequest | dg.SkipReason:
    schedule = defs.resolve_schedule_def(name)
    with dg.build_schedule_context(scheduled_execution_time=at, repository_def=defs.get_repository_def()) as context:
        result = schedule.evaluate_tick(context)
    return result.run_requests[0] if result.run_requests else result.skip_message


def test_one_schedule_per_enabled_dataset_stopped_by_default(defs):
    schedules = {s.name: s for s in defs.get_repository_def().schedule_defs}

    assert sorted(schedules) == ["clicks_schedule", "orders_schedule", "refunds_schedule"]
    assert {s.job_name for s in schedules.values()} == {"orders_chain", "clicks_chain", "refunds_chain"}
    assert {s.default_status for s in schedules.values()} == {dg.DefaultScheduleStatus.STOPPED}


def test_a_daily_tick_runs_yesterday(defs):
    assert defs.resolve_schedule_def("orders_schedule").cron_schedule == "0 0 * * *"

    request = tick(defs, "orders_schedule", dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC))

    assert request.partition_key == "2026-11-19"
    assert request.tags[DATASET_TAG] == "orders"


def test_an_hourly_tick_runs_the_hour_just_closed_in_the_datasets_time_zone(defs):
    schedule = defs.resolve_schedule_def("clicks_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 * * * *", "Europe/Paris")

    request = tick(defs, "clicks_schedule", dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC))

    assert request.partition_key == "2026-11-20-09:00"  # 10:00 in Paris: the window 09:00-10:00 has closed


def test_a_cron_override_runs_the_last_closed_window(defs):
    assert defs.resolve_schedule_def("refunds_schedule").cron_schedule == "15 6 * * *"

    request = tick(defs, "refunds_schedule", dt.datetime(2026, 11, 20, 6, 15, tzinfo=dt.UTC))

    assert request.partition_key == "2026-11-19"


def test_a_tick_before_the_first_window_closed_skips(defs):
    assert "no window of orders has closed yet" in tick(defs, "orders_schedule", dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC))


def test_the_table_carries_the_configured_freshness_policy(defs):
    orders = defs.resolve_assets_def(dg.AssetKey(["snowflake", "analytics", "raw", "orders"]))
    customers = defs.resolve_assets_def(dg.AssetKey(["snowflake", "analytics", "raw", "customers"]))

    policy = orders.specs_by_key[orders.key].freshness_policy
    assert (policy.fail_window.to_timedelta(), policy.warn_window.to_timedelta()) == (dt.timedelta(days=2), dt.timedelta(hours=26))
    assert customers.specs_by_key[customers.key].freshness_policy is None


ORDERS_TABLE = dg.AssetKey(["snowflake", "analytics", "raw", "orders"])
DEADLINE_CHECK = dg.AssetCheckKey(ORDERS_TABLE, "window_deadline")


def test_a_deadline_gives_the_table_a_window_check_and_a_running_sensor_evaluates_it(defs):
    graph = defs.resolve_asset_graph()
    checks = {key for node in graph.asset_nodes for key in node.check_keys if key.name == "window_deadline"}
    sensor = defs.resolve_sensor_def("freshness_checks_sensor")

    assert checks == {DEADLINE_CHECK}  # only orders has a deadline
    assert not graph.get_check_spec(DEADLINE_CHECK).blocking, "a late window must still load"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.asset_selection.resolve_checks(graph) == {DEADLINE_CHECK}
    # in the dataset's group, so the run that loads a late window also turns its check green
    assert DEADLINE_CHECK in defs.resolve_job_def("orders_chain").asset_layer.asset_graph.asset_check_keys


def _evaluate(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    only_the_check = dg.define_asset_job("deadline_only", selection=dg.AssetSelection.checks(DEADLINE_CHECK))
    job = dg.Definitions.merge(defs, dg.Definitions(jobs=[only_the_check])).resolve_job_def("deadline_only")
    [evaluation] = job.execute_in_process(instance=instance).get_asset_check_evaluations()
    return evaluation


def test_the_check_names_the_window_past_its_deadline_until_that_window_loads(defs):
    now = dt.datetime.now(dt.UTC)
    # daily UTC windows due 6 h after they close: before 06:00 the day before yesterday is the one due
    due_day = (now - dt.timedelta(hours=6)).date() - dt.timedelta(days=1)
    deadline = dt.datetime.combine(due_day + dt.timedelta(days=1), dt.time(6), dt.UTC)
    with dg.DagsterInstance.ephemeral() as instance:
        # a load of another window (here the open one) keeps the freshness policy content but not this check
        instance.report_runless_asset_event(dg.AssetMaterialization(ORDERS_TABLE, partition=now.date().isoformat()))
        late = _evaluate(defs, instance)
        instance.report_runless_asset_event(dg.AssetMaterialization(ORDERS_TABLE, partition=due_day.isoformat()))
        on_time = _evaluate(defs, instance)

    assert not late.passed and late.severity == dg.AssetCheckSeverity.ERROR
    assert late.description.startswith(f"Window {due_day.isoformat()} of orders is not loaded, "), late.description
    assert late.metadata["deadline"].value == deadline.timestamp()
    assert late.metadata["dagster/overdue_seconds"].value >= 0
    assert on_time.passed and on_time.metadata["window"].value == due_day.isoformat()
    # Dagster's freshness sensor evaluates it again once the next window can be late: a day after this deadline
    assert on_time.metadata["dagster/fresh_until_timestamp"].value == (deadline + dt.timedelta(days=1)).timestamp()


def test_no_window_is_due_before_the_first_has_closed_and_its_deadline_passed(tmp_path):
    config = load_config(
        write_project_config(
            tmp_path / "etl_config.yaml",
            "orders: {source: {path: /l}, load: {table: ORDERS}, partitions: {start: '2026-03-01'}, freshness: {fail_after: 2d, deadline: 6h}}",
        ),
        environ={},
    )
    orders = config.datasets["orders"]

    assert window_due(orders, dt.datetime(2026, 3, 2, 5, 59, tzinfo=dt.UTC)) is None
    assert window_due(orders, dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)).key == "2026-03-01"
