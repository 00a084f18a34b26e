"""Shared fixtures: one local Snowflake emulator for the whole test session; tests that use it are `integration`."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import snowflake.connector

from etl_assets.paths import ProjectPaths
from etl_assets.warehouse.emulator import LocalEmulator, process_is_alive
from etl_assets_tests.s3_server import S3Server


# fixtures that start the emulator, moto's S3 server, the real CLI (etl_assets_tests/cli/conftest.py) or dagster dev, or need PostgreSQL
SERVICE_FIXTURES = frozenset({"emulator", "warehouse_home", "warehouse_connection", "cli", "s3_server", "pg_database", "dagster_dev_server"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a test that starts a service unmarked, so `make test-fast` (not integration) never starts one."""
    unmarked = [
        item.nodeid
        for item in items
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("integration")
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use the emulator, the S3 server, the CLI, PostgreSQL or dagster dev, so they need @pytest.mark.integration (make test-fast "
            "must not start any): " + ", ".join(unmarked)
        )


@pytest.fixture(scope="session", autouse=True)
def no_fakesnow_folder_left() -> Iterator[None]:
    """Importing fakesnow makes a temp folder (test_emulator_patches.py); remove the one this process made."""
    yield
    if stage := sys.modules.get("fakesnow.transforms.stage"):
        shutil.rmtree(stage.LOCAL_BUCKET_PATH, ignore_errors=True)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEmulator]:
    """A running emulator under a temporary ETL_ASSETS_HOME, stopped at the end of the session."""
    local = LocalEmulator(ProjectPaths(tmp_path_factory.mktemp("home")).warehouse)
    info = local.ensure_running()
    yield local
    assert local.stop()
    assert not process_is_alive(info.pid)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1 (a free port), a real HTTP endpoint, stopped at the end of the session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield S3Server(f"http://{host}:{port}")
    server.stop()


@pytest.fixture(scope="session")
def warehouse_home(emulator: LocalEmulator) -> Path:
    """The ETL_ASSETS_HOME whose `warehouse/` folder holds the session's emulator (so it is stopped at the end)."""
    return emulator.warehouse_dir.parent


@pytest.fixture
def warehouse_connection(emulator: LocalEmulator) -> Iterator[snowflake.connector.SnowflakeConnection]:
    """A real snowflake-connector connection to the session's emulator."""
    connection = snowflake.connector.connect(**emulator.connection_args())
    yield connection
    connection.close()
