"""The orders chain end to end: two windows in one ranged run, into a real emulator, read back by the connector."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from etl_assets.defs import build_definitions
from etl_assets.defs.resources import LandingZones, ProjectHome, ScriptModels, SnowflakeWarehouse
from etl_assets.defs.pipes_messages import script_client

pytestmark = pytest.mark.integration

DAY1 = dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC)
DAY2 = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


def run_chain(
    chain_project, warehouse_home, dataset: str, first: str, last: str, raise_on_error: bool = True, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    defs = build_definitions(chain_project.config)
    assets = [a for a in defs.assets if a.group_names_by_key and set(a.group_names_by_key.values()) == {dataset}]
    return dg.materialize(
        assets,
        resources={
            "project": ProjectHome(home=str(chain_project.paths.home)),
            "warehouse": SnowflakeWarehouse(home=str(warehouse_home)),
            "pipes_subprocess_client": script_client(),
            "script_models": ScriptModels(),
            "landing_zones": LandingZones(),
        },
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


def orders_in_warehouse(warehouse_connection) -> dict[int, tuple]:
    cursor = warehouse_connection.cursor()
    cursor.execute(
        'SELECT "order_id", "email", "status", "net_amount", "time_window_start", "_source_file" '
        'FROM "ANALYTICS"."RAW"."ORDERS" ORDER BY "order_id"'
    )
    return {row[0]: row[1:] for row in cursor.fetchall()}


@pytest.fixture
def orders_two_windows(chain_project):
    chain_project.land("orders", "orders_day1.csv", DAY1)
    chain_project.land("orders", "orders_day2.csv", DAY2)
    return chain_project


def test_two_windows_load_cleaned_rows(orders_two_windows, warehouse_home, warehouse_connection):
    result = run_chain(orders_two_windows, warehouse_home, "orders", "2026-11-19", "2026-11-20")
    assert result.success

    rows = orders_in_warehouse(warehouse_connection)
    # day 1: 5007 omits its trailing discount (loaded with NULL); 5002 appears twice and the later row wins. day 2: 5008 twice.
    assert sorted(rows) == [5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008, 5009, 5010, 5011, 5012]
    assert rows[5007][2] is None  # net = gross - a NULL discount
    assert rows[5002][:3] == ("bob@example.com", "shipped", Decimal("75.50"))
    assert rows[5008][1] == "refunded"
    assert rows[5006][2] is None  # gross amount "abc" does not parse
    assert rows[5004][2] == Decimal("-15.00")
    assert rows[5001][4] == "orders_day1.csv"
    windows = {r[3].date().isoformat() for r in rows.values()}
    assert windows == {"2026-11-19", "2026-11-20"}

    load = result.asset_materializations_for_node("snowflake__analytics__raw__orders")
    assert load, "the table asset must be materialized"
    assert not any(orders_two_windows.paths.landing.joinpath("orders").iterdir()), "processed files leave landing"


def test_a_ranged_run_records_each_window_once_with_its_own_facts(orders_two_windows, warehouse_home):
    """Metadata a step returns is copied to every window of a ranged run: each window's must be its own."""
    result = run_chain(orders_two_windows, warehouse_home, "orders", "2026-11-19", "2026-11-20")
    assert result.success

    def row_counts(node: str) -> list[tuple[str, int]]:
        return sorted((m.partition, m.metadata["dagster/row_count"].value) for m in result.asset_materializations_for_node(node))

    # day 1: 8 rows, 5002 twice; day 2: 6 rows, 5008 twice
    assert row_counts("uploads__orders") == row_counts("profiles__orders") == [("2026-11-19", 8), ("2026-11-20", 6)]
    assert row_counts("transformed__orders") == row_counts("snowflake__analytics__raw__orders") == [("2026-11-19", 7), ("2026-11-20", 5)]
    scripts = result.asset_materializations_for_node("scripts__orders")
    assert sorted(m.partition for m in scripts) == ["2026-11-19", "2026-11-20"]
    assert all("def main" in m.metadata["code"].value or "import" in m.metadata["code"].value for m in scripts)
    uploads = {m.partition: m.metadata for m in result.asset_materializations_for_node("uploads__orders")}
    assert "orders_day2.csv" in uploads["2026-11-20"]["file_reads"].value
    assert "orders_day1.csv" not in uploads["2026-11-20"]["file_reads"].value
    assert "5012" in uploads["2026-11-20"]["preview"].value and "5001" not in uploads["2026-11-20"]["preview"].value


def test_materializing_again_leaves_the_same_rows(orders_two_windows, warehouse_home, warehouse_connection):
    assert run_chain(orders_two_windows, warehouse_home, "orders", "2026-11-19", "2026-11-20").success
    first = orders_in_warehouse(warehouse_connection)
    assert run_chain(orders_two_windows, warehouse_home, "orders", "2026-11-20", "2026-11-20").success
    assert run_chain(orders_two_windows, warehouse_home, "orders", "2026-11-19", "2026-11-20").success
    again = orders_in_warehouse(warehouse_connection)
    assert {k: v[:4] for k, v in again.items()} == {k: v[:4] for k, v in first.items()}


def test_empty_window_materializes_with_zero_rows(chain_project, warehouse_home):
    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-18", "2026-11-18")
    assert result.success
    uploads = result.asset_materializations_for_node("uploads__orders")
    assert uploads[0].metadata["dagster/row_count"].value == 0


def test_passthrough_dataset_without_transform(chain_project, warehouse_home, warehouse_connection):
    chain_project.land("customers", "customers_day1.csv", DAY1)
    assert run_chain(chain_project, warehouse_home, "customers", "2026-11-19", "2026-11-19").success
    cursor = warehouse_connection.cursor()
    cursor.execute(
        "SELECT column_name, data_type FROM ANALYTICS.information_schema.columns "
        "WHERE table_schema = 'RAW' AND table_name = 'CUSTOMERS'"
    )
    columns = dict(cursor.fetchall())
    assert {"customer_id", "email", "full_name", "country", "signup_date", "time_window_start"} <= set(columns)
    assert columns["customer_id"] == "NUMBER"
    assert columns["signup_date"] == "DATE"
    cursor.execute('SELECT COUNT(*) FROM "ANALYTICS"."RAW"."CUSTOMERS"')
    assert cursor.fetchone()[0] == 6  # no keys: the window is replaced with every row of the file


def test_a_ranges_empty_window_borrows_the_script_of_its_windows_with_rows(chain_project, warehouse_home):
    # its all-text profile would otherwise render a script of its own: a second process for the range
    from etl_assets.lake import stage_paths

    chain_project.land("customers", "customers_day1.csv", DAY1)
    result = run_chain(chain_project, warehouse_home, "customers", "2026-11-19", "2026-11-20")

    assert result.success
    day1, day2 = (stage_paths(chain_project.paths, "customers", key) for key in ("2026-11-19", "2026-11-20"))
    assert day2.read_script_pointer() == day1.read_script_pointer()
    assert len(list((chain_project.paths.generated_scripts / "customers").glob("*.py"))) == 1
