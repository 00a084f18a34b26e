"""A fresh PostgreSQL database per test, and a DAGSTER_HOME whose instance keeps its storage there."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path

import psycopg2
import pytest

from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets_tests.cli.conftest import REPO, Cli

SERVER = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def connect(dbname: str):
    connection = psycopg2.connect(dbname=dbname, connect_timeout=5, **SERVER)
    connection.autocommit = True  # CREATE and DROP DATABASE refuse to run in a transaction
    return connection


@pytest.fixture
def pg_database():
    try:
        admin = connect("postgres")
    except psycopg2.OperationalError as error:
        pytest.skip(f"no PostgreSQL server answers on 127.0.0.1:5432 as postgres (.ci/run starts one): {error}")
    name = f"etl_assets_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin.cursor() as cursor:
        # a run worker or the instance may still hold a connection, and DROP DATABASE waits for none
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture
def pg_env(pg_database: str, tmp_path: Path) -> dict[str, str]:
    """DAGSTER_HOME holding deploy/dagster.postgres.yaml, with the DAGSTER_PG_* it reads pointing at the fresh database."""
    dagster_home = tmp_path / "home/dagster"
    dagster_home.mkdir(parents=True)
    shutil.copyfile(REPO / "deploy/dagster.postgres.yaml", dagster_home / "dagster.yaml")
    return {
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": SERVER["host"],
        "DAGSTER_PG_PORT": str(SERVER["port"]),
        "DAGSTER_PG_USER": SERVER["user"],
        "DAGSTER_PG_PASSWORD": "",  # trust auth: set, but empty
        "DAGSTER_PG_DB": pg_database,
    }


@pytest.fixture
def pg_instance_env(pg_env: dict[str, str], monkeypatch) -> dict[str, str]:
    """The PostgreSQL instance's variables in this process too, for `DagsterInstance.get()`."""
    for key, value in pg_env.items():
        monkeypatch.setenv(key, value)
    return pg_env


@pytest.fixture
def pg_cli(pg_instance_env: dict[str, str], tmp_path: Path):
    """The CLI fixture's environment with the PostgreSQL instance: `dagster` and `etl-assets` record their runs there."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "DAGSTER_"))}
    env.update(pg_instance_env, ETL_ASSETS_HOME=str(home), ETL_ASSETS_CONFIG=str(REPO / "etl_config.yaml"))
    yield Cli(home=home, env=env)
    LocalEmulator(home / "warehouse").stop()


def closed_port() -> int:
    """A loopback port nothing listens on, standing for an unreachable service."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
