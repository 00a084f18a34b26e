"""The profile asset in a run: an HTML report per window and a drift check against the window before."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from etl_assets.defs import build_definitions
from etl_assets.defs.resources import LandingZones, ProjectHome
from etl_assets_tests.defs.test_chain import DAY1, DAY2
from etl_assets_tests.defs.test_loading import check_results

pytestmark = pytest.mark.integration


def profile_customers(chain_project, first: str, last: str) -> dg.ExecuteInProcessResult:
    """Upload and profile only: day 2 would (rightly) fail the load, its signup_date no longer being a date."""
    keys = {dg.AssetKey(["uploads", "customers"]), dg.AssetKey(["profiles", "customers"])}
    assets = [a for a in build_definitions(chain_project.config).assets if a.key in keys]
    return dg.materialize(
        assets,
        resources={"project": ProjectHome(home=str(chain_project.paths.home)), "landing_zones": LandingZones()},
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
        instance=dg.DagsterInstance.ephemeral(),
    )


def test_report_and_drift_between_two_windows(chain_project):
    chain_project.land("customers", "customers_day1.csv", DAY1)
    # day 2's signup dates hold "not a date", so the column turns from date to text
    chain_project.land("customers", "customers_day2.csv", DAY2)
    result = profile_customers(chain_project, "2026-11-19", "2026-11-20")
    assert result.success

    drift = check_results(result)["profile_drift"]
    assert not drift.passed
    assert drift.metadata["drifting_windows"].value == "2026-11-20"
    assert "signup_date" in drift.metadata["findings"].value
    by_window = {m.partition: m.metadata for m in result.asset_materializations_for_node("profiles__customers")}
    metadata = by_window["2026-11-20"]
    report = chain_project.paths.lake / "customers" / "profile" / "2026-11-20.html"
    assert metadata["report"].value == str(report)
    assert by_window["2026-11-19"]["report"].value == str(report.with_name("2026-11-19.html"))
    assert "No drift" in by_window["2026-11-19"]["drift"].value, "each window shows its own drift"
    html = report.read_text()
    assert "<svg" in html and "signup_date" in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "signup_date" in metadata["drift"].value


def test_the_first_window_has_nothing_to_drift_from(chain_project):
    chain_project.land("customers", "customers_day1.csv", dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC))
    result = profile_customers(chain_project, "2026-01-01", "2026-01-01")
    assert check_results(result)["profile_drift"].passed
