"""The CLI as a user meets it: clear one-line errors with exit 2, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import pytest

from etl_assets_tests.cli.conftest import REPO

pytestmark = pytest.mark.integration


def test_validate_lists_the_datasets(cli):
    result = cli.run("validate")
    assert result.returncode == 0, result.stderr
    assert "orders:" in result.stdout and "ANALYTICS.RAW.ORDERS" in result.stdout


def test_validate_a_bad_config_names_file_dataset_and_field_without_traceback(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        textwrap.dedent(
            """
            version: 1
            datasets:
              orders:
                source: {path: /tmp/x}
                load: {table: ORDERS, strategy: upsert}
            """
        )
    )
    result = cli.run("--config", str(bad), "validate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "bad.yaml" in message and "'orders'" in message and "load.strategy" in message and "merge" in message


def test_upload_puts_the_file_in_landing_and_names_its_window(cli):
    result = cli.run("upload", str(REPO / "sample_data/orders/orders_day1.csv"), "--dataset", "orders")
    assert result.returncode == 0, result.stderr
    landed = cli.home / "landing/orders/orders_day1.csv"
    assert landed.read_bytes() == (REPO / "sample_data/orders/orders_day1.csv").read_bytes()
    arrived = dt.datetime.fromtimestamp(landed.stat().st_mtime, dt.UTC)
    assert f"-> {landed} (window {arrived:%Y-%m-%d})" in result.stdout
    assert f"--partition {arrived:%Y-%m-%d}" in result.stdout
    assert [path.name for path in landed.parent.iterdir()] == ["orders_day1.csv"], "no partial copy is left beside it"


def test_upload_to_an_unknown_dataset_is_a_clear_error(cli):
    result = cli.run("upload", str(REPO / "sample_data/orders/orders_day1.csv"), "--dataset", "invoices")
    assert result.returncode == 2
    assert "no dataset 'invoices'" in result.stderr and "orders" in result.stderr
    assert "Traceback" not in result.stderr


def test_warehouse_start_sql_and_stop(cli):
    assert cli.run("warehouse", "status").returncode == 3
    started = cli.run("warehouse", "start")
    assert started.returncode == 0 and "running on 127.0.0.1:" in started.stdout
    result = cli.run("warehouse", "sql", "SELECT 1 AS one, 'a' AS letter", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"ONE": 1, "LETTER": "a"}]
    bad = cli.run("warehouse", "sql", "SELEC nonsense")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.startswith("error: ")
    assert cli.run("warehouse", "stop").stdout.strip() == "local Snowflake emulator stopped"
    assert cli.run("warehouse", "status").returncode == 3
