"""`etl-assets validate` refuses configs that used to pass and fail later: one line, exit 2, no traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from etl_assets.credentials import SnowflakeProfile, Vault
from etl_assets_tests.cli.conftest import REPO

pytestmark = pytest.mark.integration


def _refusal(cli, config: Path, *command: str) -> str:
    result = cli.run("--config", str(config), *command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    return lines[0]


def test_a_secret_in_the_landing_path_is_refused_and_no_folder_is_made(cli, tmp_path):
    key = Vault.new_key()
    cli.env["ETL_ASSETS_FERNET_KEY"] = key
    Vault(cli.home / "credentials.json", key).set("prod", SnowflakeProfile(account="a", user="ana", password="pw"))
    config = tmp_path / "etl_config.yaml"
    config.write_text(f'datasets:\n  orders: {{source: {{path: "{tmp_path}/${{SECRET:prod.user}}"}}, load: {{table: ORDERS}}}}\n')

    refused = _refusal(cli, config, "validate")
    upload = _refusal(cli, config, "upload", str(REPO / "sample_data/orders/orders_day1.csv"), "--dataset", "orders")

    assert refused == upload
    assert refused.startswith(
        f"error: {config}: dataset 'orders', field 'source.path': holds ${{SECRET:prod.user}}, but a secret belongs "
        "only in a credentials field"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["etl_config.yaml", "home"]


def test_two_datasets_loading_one_table_are_refused_before_dagster_sees_them(cli, tmp_path):
    config = tmp_path / "etl_config.yaml"
    config.write_text(
        "datasets:\n"
        "  orders: {source: {path: /in/orders}, load: {table: ORDERS}}\n"
        "  orders_v2: {source: {path: /in/orders_v2}, load: {table: orders}}\n"
    )

    assert _refusal(cli, config, "validate") == (
        f"error: {config}: dataset 'orders_v2', field 'load.table': loads ANALYTICS.RAW.ORDERS, which dataset 'orders' "
        "loads too, so the code location would fail to load (duplicate asset key) and stop every dataset; "
        "give each dataset its own table."
    )


def test_a_yaml_alias_bomb_and_deep_nesting_are_refused_quickly(cli, tmp_path):
    bomb = tmp_path / "bomb.yaml"
    lines = ['  a: &a ["x","x","x","x","x","x","x","x","x"]']
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"  {name}: &{name} [{','.join(['*' + previous] * 9)}]")
    bomb.write_text("variables:\n" + "\n".join(lines) + "\ndatasets:\n  orders: {source: {path: /x}, load: {table: O}}\n")
    deep = tmp_path / "deep.yaml"
    deep.write_text("datasets:\n  orders: " + "[" * 3000 + "]" * 3000 + "\n")

    started = time.perf_counter()
    bombed = _refusal(cli, bomb, "validate")
    nested = _refusal(cli, deep, "validate")

    assert time.perf_counter() - started < 60
    assert bombed == (
        f"error: {bomb}, line 7, column 10: the aliases (*name) expand the YAML to more than 100,000 values by here; "
        "use fewer aliases of large anchors (&name)."
    )
    assert nested == (
        f"error: {deep}, line 2, column 73: the YAML nests more than 64 levels deep here; "
        "a config needs far fewer, so flatten it."
    )


def test_a_target_the_loader_would_drop_is_refused(cli, tmp_path):
    config = tmp_path / "etl_config.yaml"
    config.write_text(
        "datasets:\n"
        "  orders:\n"
        "    source: {path: /in/orders}\n"
        "    transform: {columns: {order_id: {from: Order ID}, _loaded_at: {from: Loaded At}}}\n"
        "    load: {table: ORDERS}\n"
    )

    assert _refusal(cli, config, "validate").startswith(
        f"error: {config}: dataset 'orders', field 'transform.columns._loaded_at': '_loaded_at' is reserved for a "
        "column the pipeline adds"
    )
