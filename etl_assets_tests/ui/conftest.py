"""One `dagster dev` (webserver and daemon) for every test in this folder: starting it is slow on a small machine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl_assets_tests.cli.conftest import REPO, cli  # noqa: F401  (the real CLI in a temporary home, for the CLI backfill)
from etl_assets_tests.ui.dagster_dev import DagsterDev, dagster_dev, group_is_alive


@pytest.fixture(scope="package")
def dagster_dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    """Sensors stopped, so the runs a test counts are the ones it launched; the process group is gone afterwards."""
    with dagster_dev(tmp_path_factory.mktemp("dagster-dev-home")) as server:
        server.stop_sensors()
        yield server
    assert not group_is_alive(server.process.pid), "a process of dagster dev outlived the tests"


@pytest.fixture
def ui_artifacts(request: pytest.FixtureRequest) -> Path:
    """Screenshots are kept after the run: in $ETL_ASSETS_TEST_ARTIFACTS/ui/<test>, else .etl_assets/test-artifacts/ui/<test>."""
    root = Path(os.environ.get("ETL_ASSETS_TEST_ARTIFACTS") or REPO / ".etl_assets" / "test-artifacts")
    folder = root / "ui" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
