"""Marts declared in the config, run on a real emulator after the orders chain has loaded sample uploads."""

from __future__ import annotations

import datetime as dt
import textwrap

import dagster as dg
import pandas as pd
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from etl_assets.defs import build_definitions
from etl_assets.defs.marts import mart_resources
from etl_assets.defs.pipes_messages import script_client
from etl_assets.defs.resources import LandingZones, ProjectHome, ScriptModels, SnowflakeWarehouse

pytestmark = pytest.mark.integration

DAY1 = dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC)
DAY2 = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
# From sample_data/orders after the chain's cleaning (the later 5002/5008 rows win):
# day 1 paid/shipped: 5001 110.00 + 5002 75.50 + 5003 40.00 (5006 has no amount, 5007 no discount); 5004 refunded, 5005 cancelled.
# day 2 paid/shipped: 5009 60.00 + 5010 90.00 + 5011 -5.00; 5008 refunded, 5012 lost.
DAY1_ORDERS, DAY1_REVENUE = 7, 225.50
DAY2_ORDERS, DAY2_REVENUE = 5, 145.00
RANGE = {ASSET_PARTITION_RANGE_START_TAG: "2026-11-19", ASSET_PARTITION_RANGE_END_TAG: "2026-11-20"}
MART_KEY = dg.AssetKey(["marts", "daily_revenue"])
MART_TABLE = '"ANALYTICS"."MARTS"."DAILY_REVENUE"'
REVENUE_SQL = """
    sql: |
      SELECT COUNT(*) AS orders,
             COALESCE(SUM(CASE WHEN "status" IN ('paid', 'shipped') THEN "net_amount" END), 0) AS net_revenue
      FROM {{orders}}  -- a trailing comment must not end the mart's own SQL
      WHERE "time_window_start" >= {{window_start}} AND "time_window_start" < {{window_end}}
"""


def orders_per_status(orders: pd.DataFrame) -> pd.DataFrame:
    """A function mart: the run's orders counted by status."""
    return orders.groupby("status").size().reset_index(name="orders")


def orders_as_a_dict(orders: pd.DataFrame) -> dict:
    """A function mart that forgets to return a DataFrame."""
    return orders.to_dict()


def with_mart(project, mart: str):
    """The project with `mart` (the YAML under a mart's name) declared as `marts.daily_revenue`."""
    indented = textwrap.indent(textwrap.dedent(mart).strip("\n"), "    ")
    with project.config_path.open("a", encoding="utf-8") as config:
        config.write(f"marts:\n  daily_revenue:\n    from: orders\n{indented}\n")
    return project


@pytest.fixture
def orders_landed(chain_project):
    chain_project.land("orders", "orders_day1.csv", DAY1)
    chain_project.land("orders", "orders_day2.csv", DAY2)
    return chain_project


@pytest.fixture
def warehouse_connection(warehouse_connection):
    warehouse_connection.cursor().execute(f"DROP TABLE IF EXISTS {MART_TABLE}")
    return warehouse_connection


def chain_and_mart(project) -> tuple[list[dg.AssetsDefinition], dg.AssetsDefinition]:
    assets = list(build_definitions(project.config).assets)
    chain = [a for a in assets if a.group_names_by_key.get(a.key) == "orders"]
    return chain, next(a for a in assets if a.key == MART_KEY)


def materialize(project, warehouse_home, assets, selection=None, **kwargs) -> dg.ExecuteInProcessResult:
    warehouse = SnowflakeWarehouse(home=str(warehouse_home))
    return dg.materialize(
        assets,
        selection=selection,
        resources={
            "project": ProjectHome(home=str(project.paths.home)),
            "warehouse": warehouse,
            "pipes_subprocess_client": script_client(),
            "script_models": ScriptModels(),
            "landing_zones": LandingZones(),
            **mart_resources(project.config, warehouse),
        },
        instance=dg.DagsterInstance.ephemeral(),
        **kwargs,
    )


def mart_rows(connection) -> dict[str, tuple[int, float]]:
    cursor = connection.cursor()
    cursor.execute(f'SELECT "time_window_start", "time_window_end", ORDERS, NET_REVENUE FROM {MART_TABLE} ORDER BY 1')
    rows = {}
    for start, end, orders, revenue in cursor.fetchall():
        assert end - start == dt.timedelta(days=1)
        assert start.date().isoformat() not in rows, f"window {start} has more than one row"
        rows[start.date().isoformat()] = (orders, float(revenue))
    return rows


def mart_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [*_, last] = result.asset_materializations_for_node(MART_KEY.to_python_identifier())
    return {key: value.value for key, value in last.metadata.items()}


def test_a_range_run_gives_every_window_its_rows(orders_landed, warehouse_home, warehouse_connection):
    project = with_mart(orders_landed, REVENUE_SQL)
    chain, mart = chain_and_mart(project)

    result = materialize(project, warehouse_home, [*chain, mart], tags=RANGE)

    assert result.success
    assert mart_rows(warehouse_connection) == {
        "2026-11-19": (DAY1_ORDERS, pytest.approx(DAY1_REVENUE)),
        "2026-11-20": (DAY2_ORDERS, pytest.approx(DAY2_REVENUE)),
    }
    metadata = mart_metadata(result)
    assert metadata["dagster/row_count"] == 2
    assert metadata["dagster/table_name"] == "ANALYTICS.MARTS.DAILY_REVENUE"
    assert metadata["rows_per_window"] == {"2026-11-19": 1, "2026-11-20": 1}
    assert [column.name for column in metadata["dagster/column_schema"].columns][2:] == ["ORDERS", "NET_REVENUE"]
    assert f"| {DAY2_ORDERS} | " in metadata["preview"]


def test_a_rerun_replaces_its_window_and_leaves_the_others(orders_landed, warehouse_home, warehouse_connection):
    project = with_mart(orders_landed, REVENUE_SQL)
    chain, mart = chain_and_mart(project)
    assert materialize(project, warehouse_home, [*chain, mart], tags=RANGE).success

    for _ in range(2):
        result = materialize(project, warehouse_home, [*chain, mart], selection=[mart.key], partition_key="2026-11-20")
        assert result.success
        assert [e.asset_key for e in result.get_asset_materialization_events()] == [MART_KEY]

    assert mart_rows(warehouse_connection) == {
        "2026-11-19": (DAY1_ORDERS, pytest.approx(DAY1_REVENUE)),
        "2026-11-20": (DAY2_ORDERS, pytest.approx(DAY2_REVENUE)),
    }


def test_a_window_without_loaded_rows_gets_what_its_sql_says(orders_landed, warehouse_home, warehouse_connection):
    project = with_mart(orders_landed, REVENUE_SQL)
    chain, mart = chain_and_mart(project)
    assert materialize(project, warehouse_home, chain, partition_key="2026-11-19").success

    result = materialize(project, warehouse_home, [*chain, mart], selection=[mart.key], partition_key="2026-11-18")

    assert result.success
    assert mart_rows(warehouse_connection) == {"2026-11-18": (0, 0.0)}


def test_a_failed_run_leaves_the_windows_rows_as_they_were(orders_landed, warehouse_home, warehouse_connection):
    project = with_mart(orders_landed, REVENUE_SQL)
    chain, mart = chain_and_mart(project)
    assert materialize(project, warehouse_home, [*chain, mart], tags=RANGE).success
    # the same mart now selects a third column, which the existing table has no place for: its INSERT fails
    text = project.config_path.read_text(encoding="utf-8")
    project.config_path.write_text(text.replace("AS net_revenue", "AS net_revenue, 1 AS extra"), encoding="utf-8")
    _, mart = chain_and_mart(project)

    result = materialize(project, warehouse_home, [*chain, mart], selection=[mart.key], tags=RANGE, raise_on_error=False)

    assert not result.success
    [failure] = result.get_step_failure_events()
    assert "Writing mart table \"ANALYTICS\".\"MARTS\".\"DAILY_REVENUE\" failed" in failure.step_failure_data.error.cause.message
    assert "its rows are as they were, so fix the mart's sql, or drop the table" in failure.step_failure_data.error.cause.message
    assert mart_rows(warehouse_connection) == {
        "2026-11-19": (DAY1_ORDERS, pytest.approx(DAY1_REVENUE)),
        "2026-11-20": (DAY2_ORDERS, pytest.approx(DAY2_REVENUE)),
    }


def test_a_function_mart_gets_its_sources_rows_of_the_window_as_dataframes(orders_landed, warehouse_home, warehouse_connection, recwarn):
    project = with_mart(orders_landed, f"function: {__name__}:orders_per_status")
    chain, mart = chain_and_mart(project)
    assert materialize(project, warehouse_home, chain, tags=RANGE).success

    result = materialize(project, warehouse_home, [*chain, mart], selection=[mart.key], partition_key="2026-11-19")

    assert result.success
    metadata = mart_metadata(result)
    assert metadata["dagster/row_count"] == 4, "paid, shipped, refunded and cancelled orders on day 1"
    assert "| paid | 4 |" in metadata["preview"]
    assert not [str(w.message) for w in recwarn if "SQLAlchemy" in str(w.message)], "the read warns nobody"


def test_a_function_mart_that_returns_no_dataframe_fails_saying_so(orders_landed, warehouse_home, warehouse_connection):
    project = with_mart(orders_landed, f"function: {__name__}:orders_as_a_dict")
    chain, mart = chain_and_mart(project)

    result = materialize(project, warehouse_home, [*chain, mart], partition_key="2026-11-19", raise_on_error=False)

    assert not result.success
    [failure] = result.get_step_failure_events()
    assert failure.step_failure_data.error.cause.message.strip().endswith(
        f"Mart 'daily_revenue': {__name__}:orders_as_a_dict returned dict, not a pandas DataFrame; make it return one."
    )
