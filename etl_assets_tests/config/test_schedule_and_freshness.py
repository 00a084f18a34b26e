"""`schedule` and `freshness`: defaults, durations, cron strings, and one-sentence errors naming the field."""

from __future__ import annotations

import datetime as dt

import pytest

ORDERS = "orders: {source: {path: /x}, load: {table: ORDERS}"


def test_a_dataset_is_scheduled_at_each_window_close_and_has_no_freshness_by_default(load_text):
    orders = load_text(f"datasets:\n  {ORDERS}}}\n").datasets["orders"]

    assert (orders.schedule.enabled, orders.schedule.cron, orders.freshness) == (True, None, None)


def test_durations_and_cron_are_read_and_may_come_from_the_defaults(load_text):
    config = load_text(
        "defaults: {freshness: {warn_after: 30m, fail_after: 26h}, schedule: {cron: '15 1 * * MON-FRI'}}\n"
        f"datasets:\n  {ORDERS}}}\n  customers: {{source: {{path: /y}}, load: {{table: CUSTOMERS}}, freshness: {{fail_after: 2d}}}}\n"
    )
    orders, customers = config.datasets["orders"], config.datasets["customers"]

    assert (orders.freshness.warn_after, orders.freshness.fail_after) == (dt.timedelta(minutes=30), dt.timedelta(hours=26))
    assert (customers.freshness.warn_after, customers.freshness.fail_after) == (dt.timedelta(minutes=30), dt.timedelta(days=2))
    assert orders.schedule.cron == customers.schedule.cron == "15 1 * * MON-FRI"


def test_a_deadline_is_a_duration_after_each_window_closes(load_text):
    config = load_text(f"datasets:\n  {ORDERS}, freshness: {{fail_after: 2d, deadline: 6h}}}}\n")

    assert config.datasets["orders"].freshness.deadline == dt.timedelta(hours=6)


@pytest.mark.parametrize("cron", ["@daily", "*/15 * * * *", "0 6 1,15 * *", "30 2 * JAN-MAR 0"])
def test_valid_cron_strings_are_taken(load_text, cron):
    assert load_text(f"datasets:\n  {ORDERS}, schedule: {{cron: '{cron}'}}}}\n").datasets["orders"].schedule.cron == cron


@pytest.mark.parametrize(
    ("freshness", "field", "problem"),
    [
        ("{fail_after: 26x}", "freshness.fail_after", "got '26x'; use a positive duration such as 30m, 26h or 2d."),
        ("{fail_after: 0h}", "freshness.fail_after", "got '0h'; use a positive duration such as 30m, 26h or 2d."),
        ("{warn_after: 2d, fail_after: 26h}", "freshness", "fail_after must be at least as long as warn_after, since a table is late before it is overdue."),
        ("{fail_after: 2d, deadline: 6 AM}", "freshness.deadline", "got '6 AM'; use a positive duration such as 30m, 26h or 2d."),
    ],
)
def test_bad_freshness_names_file_dataset_and_field(config_error, freshness, field, problem):
    error = config_error(f"datasets:\n  {ORDERS}, freshness: {freshness}}}\n")

    assert str(error).endswith(f"etl_config.yaml: dataset 'orders', field '{field}': {problem}")


@pytest.mark.parametrize("cron", ["every day", "0 25 * * *", "0 0 * * * *", "*/0 * * * *", "0 0 31-1 * *"])
def test_a_bad_cron_names_file_dataset_and_field(config_error, cron):
    error = config_error(f"datasets:\n  {ORDERS}, schedule: {{cron: '{cron}'}}}}\n")

    assert f"etl_config.yaml: dataset 'orders', field 'schedule.cron': got '{cron}'; use a cron string of five fields" in str(error)
