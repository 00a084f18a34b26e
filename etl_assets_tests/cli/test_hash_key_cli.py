"""`etl-assets credentials set NAME --kind hash_key`: a generated key is never shown, and a set key is not replaced."""

from __future__ import annotations

import json

import pytest

from etl_assets.credentials import Vault

pytestmark = pytest.mark.integration


def test_a_generated_hash_key_is_stored_encrypted_and_never_shown(cli):
    cli.env["ETL_ASSETS_FERNET_KEY"] = cli.run("credentials", "new-key").stdout.strip()
    made = cli.run("credentials", "set", "pii_hash_key", "--kind", "hash_key", "--generate")
    assert made.returncode == 0, made.stderr
    assert "pii_hash_key" in made.stdout and "never shown" in made.stdout

    key = Vault.for_home(cli.home, cli.env).get("pii_hash_key", kind="hash_key").secret_values()["key"]
    assert len(key) >= 32
    stored = json.loads((cli.home / "credentials.json").read_text())["profiles"]["pii_hash_key"]
    assert stored["kind"] == "hash_key" and stored["fields"] == {} and list(stored["secrets"]) == ["key"]
    listed = cli.run("credentials", "list")
    assert "pii_hash_key  [hash_key, vault]" in listed.stdout and "encrypted: key" in listed.stdout
    tested = cli.run("credentials", "test", "pii_hash_key")
    assert tested.returncode == 0 and tested.stdout.strip() == "pii_hash_key: ok (the hash key decrypts and is long enough to use)"
    for result in (made, listed, tested):
        assert key not in result.stdout + result.stderr

    again = cli.run("credentials", "set", "pii_hash_key", "--kind", "hash_key", "--generate")
    assert again.returncode == 2 and "already holds a hash key" in again.stderr and "Traceback" not in again.stderr
    assert Vault.for_home(cli.home, cli.env).get("pii_hash_key").secret_values()["key"] == key, "the key was kept"


def test_a_hash_key_is_read_from_stdin_and_a_short_one_is_refused(cli):
    cli.env["ETL_ASSETS_FERNET_KEY"] = cli.run("credentials", "new-key").stdout.strip()
    short = cli.run("credentials", "set", "team_key", "--kind", "hash_key", "--password-stdin", input="short-key\n")
    assert short.returncode == 2 and "at least 32 characters" in short.stderr and "short-key" not in short.stderr
    assert not (cli.home / "credentials.json").exists()

    secret = "k" * 20 + "-read-from-standard-input"
    saved = cli.run("credentials", "set", "team_key", "--kind", "hash_key", "--password-stdin", input=secret + "\n")
    assert saved.returncode == 0, saved.stderr
    assert Vault.for_home(cli.home, cli.env).get("team_key").secret_values()["key"] == secret
    assert secret not in (cli.home / "credentials.json").read_text()

    wrong = cli.run("credentials", "set", "other", "--generate")
    assert wrong.returncode == 2 and "--kind hash_key" in wrong.stderr
