"""Schedules and freshness from the config: one schedule per enabled dataset, each tick runs the window just closed."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from etl_assets.config.loader import load_config
from etl_assets.defs import build_definitions
from etl_assets.defs.jobs import DATASET_TAG
from etl_assets_tests.project_config import write_project_config

DATASETS = """
    orders:
      source: {path: /landing/orders}
      load: {table: ORDERS}
      freshness: {warn_after: 26h, fail_after: 2d}
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
