"""The Dagster UI for real: a window launched through GraphQL lands its rows, and headless Chromium finds every dataset's
assets and checks on the asset graph, and the table's partitions on its partitions page."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from etl_assets.config.loader import load_config
from etl_assets.defs import build_definitions
from etl_assets_tests.cli.conftest import REPO
from etl_assets_tests.ui.browser import chromium_page
from etl_assets_tests.ui.dagster_dev import CODE_LOCATION, REPOSITORY, group_is_alive, land_sample, rows_by_window

ORDERS_TABLE = dg.AssetKey(["snowflake", "analytics", "raw", "orders"])
FIRST_VISIT_DIALOG = "Join the Dagster community"
# the centre of the first-visit dialog's Skip button, once it is on the page
SKIP_BUTTON = """(() => {
  const button = [...document.querySelectorAll('[role=dialog] button')].find(b => b.innerText.trim() === 'Skip');
  if (!button) return null;
  const box = button.getBoundingClientRect();
  return [box.x + box.width / 2, box.y + box.height / 2];
})()"""
ASSET_LINKS = "[...new Set([...document.querySelectorAll('a[href^=\"/assets/\"]')].map(a => a.getAttribute('href')))]"


@pytest.mark.integration
def test_a_window_launched_through_graphql_lands_its_rows(dagster_dev_server):
    server = dagster_dev_server
    land_sample(server.home, "orders", "orders_day1.csv", dt.date(2026, 11, 1))

    run_id = server.client().submit_job_execution(
        "orders_chain", repository_location_name=CODE_LOCATION, repository_name=REPOSITORY, tags={"dagster/partition": "2026-11-01"}
    )

    assert server.wait_for_run(run_id) == "SUCCESS"
    # 8 orders with one duplicate id; eve@example fails the email rule and is quarantined
    assert rows_by_window(server.home)["2026-11-01"] == 6


@pytest.mark.integration
@pytest.mark.browser
def test_the_asset_graph_shows_every_datasets_assets_and_checks(dagster_dev_server, tmp_path, ui_artifacts):
    graph = build_definitions(load_config(REPO / "etl_config.yaml")).resolve_asset_graph()
    datasets = sorted(load_config(REPO / "etl_config.yaml").datasets)
    with dagster_dev_server.instance() as instance:
        materialized = len(instance.get_materialized_partitions(ORDERS_TABLE))
    url = dagster_dev_server.url

    with chromium_page(tmp_path / "chromium") as page:
        page.goto(f"{url}/asset-groups")
        page.wait_for(f"document.body.innerText.includes({json.dumps(FIRST_VISIT_DIALOG)})", what="Dagster's first-visit dialog")
        page.click(*page.wait_for(SKIP_BUTTON, what="the dialog's Skip button"))
        page.wait_for("document.querySelectorAll('[role=dialog]').length === 0", what="the dialog to close")
        assert all(name in page.text() for name in datasets)
        page.wait_for("!document.body.innerText.includes('fetching statuses')", what="the groups' statuses")
        page.screenshot(ui_artifacts / "asset-graph.png")

        for dataset in datasets:
            keys = sorted((k for k in graph.get_all_asset_keys() if graph.get(k).group_name == dataset), key=str)
            with_checks = {k for k in keys if graph.get_check_keys_for_assets([k])}
            page.goto(f"{url}/locations/{CODE_LOCATION}/asset-groups/{dataset}/lineage")
            expected = {f"/assets/{k.to_user_string()}?view=partitions" for k in keys}
            links = set(page.wait_for(f"(l => l.length >= {len(expected)} && l)({ASSET_LINKS}.filter(h => h.endsWith('view=partitions')))"))
            assert len(keys) == 5 and links == expected, dataset
            assert {h for h in page.evaluate(ASSET_LINKS) if h.endswith("view=checks")} == {f"/assets/{k.to_user_string()}?view=checks" for k in with_checks}
            assert FIRST_VISIT_DIALOG not in page.text(), "the dismissed dialog came back"
            page.screenshot(ui_artifacts / f"{dataset}-graph.png")
            for key in sorted(with_checks, key=str):
                names = sorted(check.name for check in graph.get_check_keys_for_assets([key]))
                page.goto(f"{url}/assets/{key.to_user_string()}?view=checks")
                page.wait_for(f"(t => {json.dumps(names)}.every(n => t.includes(n)))(document.body.innerText)", what=f"{key.to_user_string()}'s checks {names}")
                assert f"Checks ({len(names)})" in page.text()

        page.goto(f"{url}/assets/{ORDERS_TABLE.to_user_string()}?view=partitions")
        count = graph.get(ORDERS_TABLE).partitions_def.get_num_partitions()
        page.wait_for(f"document.body.innerText.includes('{count} Partitions Selected')", what=f"{count} partitions")
        text = page.text()
        assert f"Materialized ({materialized})" in text and f"Missing ({count - materialized})" in text
        page.screenshot(ui_artifacts / "orders-table-partitions.png")
        browser = page.browser_pid
    assert not group_is_alive(browser), "chromium outlived its test"
