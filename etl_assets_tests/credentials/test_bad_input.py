"""Bad input: one clear sentence that says what to do, and the vault file byte-for-byte as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from etl_assets.credentials.profiles import S3Profile, SnowflakeProfile
from etl_assets.credentials.vault import Vault
from etl_assets.errors import CredentialsError
from etl_assets_tests.credentials.conftest import PASSWORD

NEW_PROFILE = SnowflakeProfile(account="a", user="u", password="another-password")


@pytest.fixture
def filled(vault: Vault, warehouse_profile: SnowflakeProfile, lake_profile: S3Profile) -> Vault:
    vault.set("warehouse", warehouse_profile)
    vault.set("lake", lake_profile)
    return vault


def keyed(vault: Vault, keys: str | None) -> Vault:
    return Vault(vault.path, keys, {})


def assert_refused(vault: Vault, action: Callable[[], object], *expected: str) -> str:
    before = vault.path.read_bytes()
    with pytest.raises(CredentialsError) as raised:
        action()
    message = str(raised.value)
    for part in expected:
        assert part in message
    assert message.endswith(".") and "\n" not in message
    assert PASSWORD not in message
    assert vault.path.read_bytes() == before
    assert [entry.name for entry in vault.path.parent.iterdir()] == ["credentials.json"]
    return message


@pytest.mark.parametrize("operation", ["get", "set", "rotate"])
def test_a_missing_key_says_which_variable_to_set_and_how_to_make_one(filled: Vault, operation: str) -> None:
    keyless = keyed(filled, None)
    actions = {
        "get": lambda: keyless.get("warehouse"),
        "set": lambda: keyless.set("new", NEW_PROFILE),
        "rotate": keyless.rotate,
    }
    assert_refused(
        filled,
        actions[operation],
        "ETL_ASSETS_FERNET_KEY is not set",
        "make one with `etl-assets credentials new-key` and set ETL_ASSETS_FERNET_KEY to it",
    )


@pytest.mark.parametrize(
    ("keys", "which"),
    [("not-a-fernet-key", "its key is not"), (f"{Vault.new_key()},abc", "key 2 of 2 is not")],
)
def test_a_malformed_key_is_refused_without_showing_it(filled: Vault, keys: str, which: str) -> None:
    message = assert_refused(
        filled,
        lambda: keyed(filled, keys).get("warehouse"),
        "ETL_ASSETS_FERNET_KEY is malformed",
        which,
        "32 url-safe base64-encoded bytes",
        "`etl-assets credentials new-key`",
    )
    assert "not-a-fernet-key" not in message and "abc" not in message


def test_a_wrong_key_names_the_variable_and_the_vault(filled: Vault) -> None:
    assert_refused(
        filled,
        lambda: keyed(filled, Vault.new_key()).get("warehouse"),
        f"The credentials vault {filled.path} was encrypted with another key; set ETL_ASSETS_FERNET_KEY to the key "
        "it was written with (several keys may be given, comma-separated).",
    )


def test_a_tampered_token_is_told_apart_from_a_wrong_key(filled: Vault) -> None:
    document = json.loads(filled.path.read_text())
    token = document["profiles"]["warehouse"]["secrets"]["password"]
    flipped = "A" if token[30] != "A" else "B"
    document["profiles"]["warehouse"]["secrets"]["password"] = token[:30] + flipped + token[31:]
    filled.path.write_text(json.dumps(document))
    for action in (lambda: filled.get("warehouse"), filled.rotate):
        message = assert_refused(
            filled, action, "The secret 'password' of credentials profile 'warehouse'", "was altered or damaged"
        )
        assert "another key" not in message
    assert filled.get("lake").kind == "s3"


@pytest.mark.parametrize("operation", ["get", "delete"])
def test_an_unknown_profile_lists_the_known_ones(filled: Vault, operation: str) -> None:
    action = getattr(filled, operation)
    assert_refused(
        filled,
        lambda: action("warehose"),
        "There is no credentials profile 'warehose'",
        "use one of lake, warehouse or add it with `etl-assets credentials set`",
    )


def test_an_unknown_profile_in_an_empty_vault_says_how_to_add_one(vault: Vault) -> None:
    with pytest.raises(CredentialsError, match=r"holds none yet; add one with `etl-assets credentials set`\.$"):
        vault.get("warehouse")
    assert not vault.path.exists()


def test_a_profile_of_the_wrong_kind_is_refused(filled: Vault) -> None:
    assert_refused(
        filled,
        lambda: filled.get("lake", kind="snowflake"),
        "The credentials profile 'lake' is of kind 's3', not 'snowflake'; name a profile of kind 'snowflake' instead",
    )


@pytest.mark.parametrize(
    ("damage", "detail"),
    [
        (lambda raw: raw[: len(raw) // 2], "it is not complete JSON"),
        (lambda raw: b"", "it is not complete JSON"),
        (lambda raw: b'{"version": 2, "profiles": {}}', "version"),
        (lambda raw: raw.replace(b'"kind": "s3"', b'"kind": "ftp"'), "profiles.lake.kind"),
    ],
    ids=["truncated", "empty", "future-version", "unknown-kind"],
)
@pytest.mark.parametrize("operation", ["get", "set", "list", "delete", "rotate"])
def test_a_damaged_vault_is_reported_and_left_alone(
    filled: Vault, damage: Callable[[bytes], bytes], detail: str, operation: str
) -> None:
    filled.path.write_bytes(damage(filled.path.read_bytes()))
    actions = {
        "get": lambda: filled.get("warehouse"),
        "set": lambda: filled.set("new", NEW_PROFILE),
        "list": filled.summaries,
        "delete": lambda: filled.delete("lake"),
        "rotate": filled.rotate,
    }
    assert_refused(
        filled,
        actions[operation],
        f"The credentials vault {filled.path} is damaged (",
        detail,
        "restore it from a backup, or move it aside and add the profiles again with `etl-assets credentials set`",
    )


@pytest.mark.parametrize("operation", ["set", "delete"])
def test_env_is_reserved_for_the_environment(filled: Vault, operation: str) -> None:
    action = (lambda: filled.set("env", NEW_PROFILE)) if operation == "set" else (lambda: filled.delete("env"))
    assert_refused(filled, action, "The profile name 'env' stands for the SNOWFLAKE_* environment variables")


def test_an_invalid_vault_path_folder_is_reported(tmp_path: Path, key: str) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    vault = Vault(blocked / "credentials.json", key, {})
    with pytest.raises(CredentialsError, match=r"cannot be read \(Not a directory\); check ETL_ASSETS_HOME"):
        vault.summaries()
