"""The `dg` CLI on this project ([tool.dg] in pyproject.toml) and EtlAssetsComponent in a scratch dg project."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets_tests.cli.conftest import BIN, REPO
from etl_assets_tests.project_config import write_project_config
from etl_assets_tests.ui.dagster_dev import CODE_LOCATION, REPOSITORY, dagster_dev, group_is_alive, land_sample, rows_by_window

pytestmark = pytest.mark.integration


def run_dg(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "DAGSTER_"))}
    env.update(ETL_ASSETS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(BIN / "dg"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )


def listed_defs(cwd: Path, home: Path) -> dict:
    result = run_dg("list", "defs", "--json", cwd=cwd, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_dg_lists_the_code_locations_assets_and_sensors(tmp_path):
    listed = listed_defs(REPO, tmp_path / "home")
    assets = {asset["asset_key"] for asset in listed["assets"]}
    assert {"uploads/orders", "profiles/orders", "scripts/orders", "transformed/orders", "snowflake/analytics/raw/orders"} <= assets
    assert {sensor["name"] for sensor in listed["sensors"]} >= {"orders_uploads", "customers_uploads", "leads_uploads"}


def test_dg_launch_materializes_a_groups_partition(tmp_path):
    home = tmp_path / "home"
    landing = home / "landing/customers"
    landing.mkdir(parents=True)
    target = landing / "customers_day1.csv"
    shutil.copyfile(REPO / "sample_data/customers/customers_day1.csv", target)
    arrived = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC).timestamp()
    os.utime(target, (arrived, arrived))
    try:
        result = run_dg("launch", "--assets", "group:customers", "--partition", "2026-11-20", cwd=REPO, home=home)
    finally:
        LocalEmulator(home / "warehouse").stop()
    assert result.returncode == 0, result.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        [run] = instance.get_runs()
        latest = instance.get_latest_materialization_event(dg.AssetKey(["snowflake", "analytics", "raw", "customers"]))
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert latest.run_id == run.run_id and latest.asset_materialization.partition == "2026-11-20"


def scratch_project(root: Path) -> Path:
    """A minimal dg project whose only definitions come from one EtlAssetsComponent."""
    component = root / "scratch_etl/defs/etl"
    component.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "scratch_etl"\nversion = "0"\n\n[tool.dg]\ndirectory_type = "project"\n\n'
        '[tool.dg.project]\nroot_module = "scratch_etl"\n'
    )
    (root / "scratch_etl/__init__.py").touch()
    (root / "scratch_etl/definitions.py").write_text(
        textwrap.dedent("""\
            from pathlib import Path

            import dagster as dg


            @dg.definitions
            def defs():
                return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
        """)
    )
    (component / "defs.yaml").write_text("type: etl_assets.EtlAssetsComponent\nattributes:\n  config: etl_config.yaml\n")
    write_project_config(
        component / "etl_config.yaml",
        """
        contacts:
          source: {path: landing/contacts, pattern: "*.csv", format: csv}
          load: {table: CONTACTS}
        """,
    )
    return root


def test_the_component_builds_a_datasets_chain_in_a_scratch_dg_project(tmp_path):
    listed = listed_defs(scratch_project(tmp_path / "scratch"), tmp_path / "home")
    assert {asset["asset_key"] for asset in listed["assets"]} == {
        "uploads/contacts", "profiles/contacts", "scripts/contacts", "transformed/contacts", "snowflake/analytics/raw/contacts",
    }  # fmt: skip
    assert [sensor["name"] for sensor in listed["sensors"]] == ["contacts_uploads", "failed_window_alerts"]


def test_dg_dev_serves_the_project_and_runs_a_window(tmp_path):
    home = tmp_path / "home"
    land_sample(home, "customers", "customers_day1.csv", dt.date(2026, 11, 20))
    with dagster_dev(home, through_dg=True) as server:
        server.stop_sensors()
        nodes = server.graphql("{ assetNodes { assetKey { path } } }")["assetNodes"]
        run_id = server.client().submit_job_execution(
            "customers_chain", repository_location_name=CODE_LOCATION, repository_name=REPOSITORY, tags={"dagster/partition": "2026-11-20"}
        )
        status = server.wait_for_run(run_id)
        rows = rows_by_window(home, ("ANALYTICS", "RAW", "CUSTOMERS"))
    assert {"/".join(node["assetKey"]["path"]) for node in nodes} >= {"uploads/orders", "snowflake/analytics/raw/leads", "marts/daily_revenue"}
    assert status == "SUCCESS", server.log.read_text()[-3000:]
    assert rows == {"2026-11-20": 5}  # 6 customers, one of them twice
    assert not group_is_alive(server.process.pid)
