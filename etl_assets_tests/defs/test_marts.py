"""The daily-revenue mart reads the loaded orders table through dagster-snowflake-pandas, from a real emulator."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from etl_assets.defs import build_definitions
from etl_assets.defs.marts import DAILY_REVENUE_KEY, PANDAS_IO_MANAGER_KEY, SnowflakePandasWarehouseIOManager
from etl_assets.defs.resources import LandingZones, ProjectHome, ScriptModels, SnowflakeWarehouse
from etl_assets.defs.pipes_messages import script_client

pytestmark = pytest.mark.integration

DAY1 = dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC)
DAY2 = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
# From sample_data/orders after the chain's cleaning (the later 5002/5008 rows win):
# day 1 paid/shipped: 5001 110.00 + 5002 75.50 + 5003 40.00 (5006 has no amount, 5007 no discount); 5004 refunded, 5005 cancelled.
# day 2 paid/shipped: 5009 60.00 + 5010 90.00 + 5011 -5.00; 5008 refunded, 5012 lost.
DAY1_ORDERS, DAY1_REVENUE = 7, 225.50
DAY2_ORDERS, DAY2_REVENUE = 5, 145.00


@pytest.fixture
def orders_landed(chain_project):
    chain_project.land("orders", "orders_day1.csv", DAY1)
    chain_project.land("orders", "orders_day2.csv", DAY2)
    return chain_project


def orders_chain_and_mart(project) -> tuple[list[dg.AssetsDefinition], dg.AssetsDefinition]:
    assets = list(build_definitions(project.config).assets)
    chain = [a for a in assets if a.group_names_by_key.get(a.key) == "orders"]
    mart = next(a for a in assets if a.key == DAILY_REVENUE_KEY)
    return chain, mart


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
            PANDAS_IO_MANAGER_KEY: SnowflakePandasWarehouseIOManager(warehouse=warehouse, database="ANALYTICS"),
        },
        instance=dg.DagsterInstance.ephemeral(),
        **kwargs,
    )


def mart_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [*_, last] = result.asset_materializations_for_node(DAILY_REVENUE_KEY.to_python_identifier())
    return {key: value.value for key, value in last.metadata.items()}


def test_mart_reads_each_window_of_a_ranged_run(orders_landed, warehouse_home, warehouse_connection):
    chain, mart = orders_chain_and_mart(orders_landed)
    result = materialize(
        orders_landed,
        warehouse_home,
        [*chain, mart],
        tags={ASSET_PARTITION_RANGE_START_TAG: "2026-11-19", ASSET_PARTITION_RANGE_END_TAG: "2026-11-20"},
    )
    assert result.success

    metadata = mart_metadata(result)
    assert metadata["dagster/row_count"] == 2
    assert metadata["orders"] == DAY1_ORDERS + DAY2_ORDERS
    assert metadata["net_revenue"] == pytest.approx(DAY1_REVENUE + DAY2_REVENUE)
    assert f"| 2026-11-19 | {DAY1_ORDERS} | {DAY1_REVENUE} |" in metadata["preview"]
    assert f"| 2026-11-20 | {DAY2_ORDERS} | {DAY2_REVENUE} |" in metadata["preview"]


def test_mart_alone_reads_only_its_window_of_the_loaded_table(orders_landed, warehouse_home, warehouse_connection, recwarn):
    chain, mart = orders_chain_and_mart(orders_landed)
    range_tags = {ASSET_PARTITION_RANGE_START_TAG: "2026-11-19", ASSET_PARTITION_RANGE_END_TAG: "2026-11-20"}
    assert materialize(orders_landed, warehouse_home, chain, tags=range_tags).success

    result = materialize(orders_landed, warehouse_home, [*chain, mart], selection=[mart.key], partition_key="2026-11-20")
    assert result.success
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [DAILY_REVENUE_KEY]
    metadata = mart_metadata(result)
    assert metadata["dagster/row_count"] == 1
    assert metadata["orders"] == DAY2_ORDERS
    assert metadata["net_revenue"] == pytest.approx(DAY2_REVENUE)
    assert not [str(w.message) for w in recwarn if "SQLAlchemy" in str(w.message)], "the read warns nobody"


def test_mart_of_a_window_without_loaded_rows_is_zero(orders_landed, warehouse_home, warehouse_connection):
    chain, mart = orders_chain_and_mart(orders_landed)
    assert materialize(orders_landed, warehouse_home, chain, partition_key="2026-11-19").success

    result = materialize(orders_landed, warehouse_home, [*chain, mart], selection=[mart.key], partition_key="2026-11-18")
    assert result.success
    metadata = mart_metadata(result)
    assert (metadata["orders"], metadata["net_revenue"]) == (0, 0.0)
