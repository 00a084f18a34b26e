"""`etl-assets credentials`: secrets only from stdin, never shown, clear errors, rotation by key list."""

from __future__ import annotations

import json
import secrets

import pytest

from etl_assets.warehouse.emulator import LocalEmulator

pytestmark = pytest.mark.integration


def set_local_profile(cli, name: str, password: str):
    info = LocalEmulator(cli.home / "warehouse").ensure_running()
    return cli.run(
        "credentials", "set", name, "--kind", "snowflake", "--account", "fakesnow", "--user", "fake",
        "--host", info.host, "--port", str(info.port), "--protocol", "http", "--password-stdin",
        input=password + "\n",
    )  # fmt: skip


def test_set_list_test_and_delete_a_profile_without_showing_its_secret(cli):
    cli.env["ETL_ASSETS_FERNET_KEY"] = cli.run("credentials", "new-key").stdout.strip()
    password = f"pw-{secrets.token_hex(12)}"
    saved = set_local_profile(cli, "prod", password)
    assert saved.returncode == 0, saved.stderr
    vault = cli.home / "credentials.json"
    assert oct(vault.stat().st_mode & 0o777) == "0o600"
    assert password not in vault.read_text()
    listed = cli.run("credentials", "list")
    assert "prod  [snowflake, vault]" in listed.stdout and "encrypted: password" in listed.stdout
    assert password not in listed.stdout + listed.stderr
    tested = cli.run("credentials", "test", "prod")
    assert tested.returncode == 0 and tested.stdout.strip() == "prod: ok (connected and ran SELECT 1)"
    assert cli.run("credentials", "delete", "prod").returncode == 0
    assert "no profiles" in cli.run("credentials", "list").stdout


def test_a_secret_is_never_taken_from_the_command_line(cli):
    cli.env["ETL_ASSETS_FERNET_KEY"] = cli.run("credentials", "new-key").stdout.strip()
    result = cli.run("credentials", "set", "prod", "--account", "a", "--user", "u")
    assert result.returncode == 2
    assert "pipe it on standard input" in result.stderr and "Traceback" not in result.stderr
    assert not (cli.home / "credentials.json").exists()
    assert cli.run("credentials", "set", "prod", "--account", "a", "--user", "u", "--password", "x").returncode == 2


def test_rotation_with_a_key_list_then_the_new_key_alone(cli):
    key_a = cli.run("credentials", "new-key").stdout.strip()
    key_b = cli.run("credentials", "new-key").stdout.strip()
    cli.env["ETL_ASSETS_FERNET_KEY"] = key_a
    assert set_local_profile(cli, "prod", "pw-rotate").returncode == 0
    before = (cli.home / "credentials.json").read_bytes()

    cli.env["ETL_ASSETS_FERNET_KEY"] = key_b
    wrong = cli.run("credentials", "test", "prod")
    assert wrong.returncode == 1 and "encrypted with another key" in wrong.stdout
    assert (cli.home / "credentials.json").read_bytes() == before, "a wrong key leaves the vault untouched"

    cli.env["ETL_ASSETS_FERNET_KEY"] = f"{key_b},{key_a}"
    assert cli.run("credentials", "test", "prod").returncode == 0
    rotated = cli.run("credentials", "rotate")
    assert rotated.returncode == 0 and rotated.stdout.startswith("1 profiles re-encrypted")

    cli.env["ETL_ASSETS_FERNET_KEY"] = key_b
    assert cli.run("credentials", "test", "prod").returncode == 0
    assert json.loads((cli.home / "credentials.json").read_text())["profiles"]["prod"]["kind"] == "snowflake"


def test_a_missing_key_says_which_variable_to_set(cli):
    cli.env.pop("ETL_ASSETS_FERNET_KEY", None)
    result = cli.run("credentials", "set", "prod", "--account", "a", "--user", "u", "--password-stdin", input="pw\n")
    assert result.returncode == 2
    assert "ETL_ASSETS_FERNET_KEY" in result.stderr and "Traceback" not in result.stderr
