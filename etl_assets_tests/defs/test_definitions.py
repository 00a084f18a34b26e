"""The code location loads from the repository's etl_config.yaml with the contract's keys and policies."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parents[2]


def load_repo_definitions(monkeypatch, tmp_path) -> dg.Definitions:
    monkeypatch.setenv("ETL_ASSETS_CONFIG", str(REPO / "etl_config.yaml"))
    monkeypatch.setenv("ETL_ASSETS_HOME", str(tmp_path))
    import etl_assets.definitions as module

    return importlib.reload(module).defs


def test_definitions_load_with_every_stage(monkeypatch, tmp_path):
    defs = load_repo_definitions(monkeypatch, tmp_path)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for dataset, table in (("orders", "orders"), ("customers", "customers")):
        assert {
            f"uploads/{dataset}",
            f"profiles/{dataset}",
            f"scripts/{dataset}",
            f"transformed/{dataset}",
            f"snowflake/analytics/raw/{table}",
        } <= keys


def test_assets_are_grouped_partitioned_and_backfill_in_one_run(monkeypatch, tmp_path):
    defs = load_repo_definitions(monkeypatch, tmp_path)
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if key.path[0] == "retention":  # one unpartitioned run deletes every expired window (docs/architecture.md §8)
            assert node.group_name == "retention" and node.partitions_def is None
            continue
        expected_group = {"snowflake": node.group_name, "marts": "marts"}.get(key.path[0], key.path[-1])
        assert node.group_name == expected_group
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        partitions = node.partitions_def
        assert isinstance(partitions, dg.TimeWindowPartitionsDefinition)
        assert partitions.end_offset == 1, "the open window must be a partition"
    table = graph.get(dg.AssetKey(["snowflake", "analytics", "raw", "orders"]))
    assert table.group_name == "orders"
    assert graph.get(dg.AssetKey(["retention", "orders"])).group_name == "retention"  # the sample keeps 400 days
    assert graph.get(dg.AssetKey(["transformed", "orders"])).parent_keys == {dg.AssetKey(["scripts", "orders"])}


def test_loading_the_definitions_warns_of_nothing(monkeypatch, tmp_path):
    """Every `dagster` command loads them: a warning here is printed to the user once per asset, each time."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_repo_definitions(monkeypatch, tmp_path)
    assert [str(warning.message) for warning in caught] == []


def test_every_dataset_has_an_upload_sensor_on_by_default(monkeypatch, tmp_path):
    defs = load_repo_definitions(monkeypatch, tmp_path)
    for name in ("orders_uploads", "customers_uploads"):
        sensor = defs.resolve_sensor_def(name)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_the_sample_mart_comes_from_the_config_over_the_orders_table(monkeypatch, tmp_path):
    graph = load_repo_definitions(monkeypatch, tmp_path).resolve_asset_graph()
    mart = graph.get(dg.AssetKey(["marts", "daily_revenue"]))
    assert mart.group_name == "marts"
    assert mart.parent_keys == {dg.AssetKey(["snowflake", "analytics", "raw", "orders"])}
    assert {"snowflake", "sql"} <= set(mart.kinds)
    assert mart.partitions_def == graph.get(dg.AssetKey(["snowflake", "analytics", "raw", "orders"])).partitions_def
