"""A load through a vault profile leaves its password nowhere: not in ETL_ASSETS_HOME, Dagster's storage, or the logs."""

from __future__ import annotations

import logging
import os
import secrets

import dagster as dg
import pytest

from etl_assets.credentials import SnowflakeProfile, Vault
from etl_assets.defs import build_definitions
from etl_assets.defs.resources import CredentialsVault, SnowflakeWarehouse
from etl_assets.errors import EtlAssetsError
from etl_assets_tests.defs.test_chain import DAY1

pytestmark = pytest.mark.integration


@pytest.fixture
def vault_project(chain_project, emulator, monkeypatch):
    """The orders dataset loads through profile `prod`: the session emulator, with a unique random password."""
    monkeypatch.setenv("ETL_ASSETS_FERNET_KEY", Vault.new_key())
    password = f"pw-{secrets.token_hex(16)}"
    info = emulator.status()
    profile = SnowflakeProfile(account="fakesnow", user="fake", password=password, host=info.host, port=info.port, protocol="http")
    Vault.for_home(chain_project.paths.home).set("prod", profile)
    text = chain_project.config_path.read_text()
    chain_project.config_path.write_text(text.replace("connection: local", "connection: prod"))
    chain_project.land("orders", "orders_day1.csv", DAY1)
    return chain_project, password


def test_the_password_is_found_nowhere_but_as_ciphertext(vault_project, warehouse_home, warehouse_connection, caplog, capfd):
    project, password = vault_project
    caplog.set_level(logging.DEBUG)
    defs = build_definitions(project.config)
    (project.paths.home / "dagster").mkdir(parents=True)
    with dg.DagsterInstance.local_temp(tempdir=str(project.paths.home / "dagster")) as instance:
        result = defs.resolve_job_def("orders_chain").execute_in_process(instance=instance, partition_key="2026-11-19")
        assert result.success
        events = [str(event) for event in instance.all_logs(result.run_id)]
    cursor = warehouse_connection.cursor()
    cursor.execute('SELECT COUNT(*) FROM "ANALYTICS"."RAW"."ORDERS"')
    assert cursor.fetchone()[0] == 7, "the load really went through the profile"

    needle = password.encode()
    files = [path for path in project.paths.home.rglob("*") if path.is_file()]
    for part in ("credentials.json", "archive", "lake", "generated_scripts", "dagster"):
        assert any(part in path.relative_to(project.paths.home).parts for path in files), f"{part} was searched"
    # the profile points at the session's emulator, so its databases, stage files and log are searched too
    files += [path for path in (warehouse_home / "warehouse").rglob("*") if path.is_file()]
    leaking = [str(path) for path in files if needle in path.read_bytes()]
    assert leaking == []
    captured = capfd.readouterr()
    assert password not in captured.out + captured.err
    assert password not in caplog.text
    assert not [event for event in events if password in event]


def test_a_failing_connection_names_no_secret(vault_project, emulator):
    project, password = vault_project
    vault = Vault.for_home(project.paths.home)
    broken = vault.get("prod").model_copy(update={"port": 1})
    vault.set("prod", broken)
    warehouse = SnowflakeWarehouse(vault=CredentialsVault(fernet_key=os.environ["ETL_ASSETS_FERNET_KEY"]))
    with pytest.raises(EtlAssetsError) as raised:
        with warehouse.get_connection("prod"):
            pass
    assert password not in str(raised.value) and password not in repr(raised.value)
    assert "prod" in str(raised.value)
