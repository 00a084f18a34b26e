"""Keys: a comma-separated list decrypts with all and encrypts with the first; rotate retires the old key."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_assets.credentials.profiles import S3Profile, SnowflakeProfile
from etl_assets.credentials.vault import Vault
from etl_assets.errors import CredentialsError

WRONG_KEY = (
    "was encrypted with another key; set ETL_ASSETS_FERNET_KEY to the key it was written with "
    "(several keys may be given, comma-separated)."
)


def vault_with(home: Path, keys: str) -> Vault:
    return Vault.for_home(home, {"ETL_ASSETS_FERNET_KEY": keys})


def test_new_keys_are_distinct_fernet_keys() -> None:
    first, second = Vault.new_key(), Vault.new_key()
    assert first != second and len(first) == 44 and first.endswith("=")


def test_rotation_moves_every_profile_to_the_first_key(
    tmp_path: Path, warehouse_profile: SnowflakeProfile, lake_profile: S3Profile
) -> None:
    key_a, key_b = Vault.new_key(), Vault.new_key()
    vault_with(tmp_path, key_a).set("warehouse", warehouse_profile)
    vault_with(tmp_path, key_a).set("lake", lake_profile)

    both = vault_with(tmp_path, f"{key_b},{key_a}")
    assert both.get("warehouse") == warehouse_profile
    assert both.rotate() == 2

    only_b = vault_with(tmp_path, key_b)
    assert only_b.get("warehouse") == warehouse_profile
    assert only_b.get("lake") == lake_profile
    before = (tmp_path / "credentials.json").read_bytes()
    with pytest.raises(CredentialsError) as raised:
        vault_with(tmp_path, key_a).get("warehouse")
    assert str(raised.value) == f"The credentials vault {tmp_path / 'credentials.json'} {WRONG_KEY}"
    assert (tmp_path / "credentials.json").read_bytes() == before


def test_the_first_of_several_keys_encrypts(tmp_path: Path, warehouse_profile: SnowflakeProfile) -> None:
    key_a, key_b = Vault.new_key(), Vault.new_key()
    vault_with(tmp_path, f" {key_b} , {key_a} ,").set("warehouse", warehouse_profile)
    assert vault_with(tmp_path, key_b).get("warehouse") == warehouse_profile
    with pytest.raises(CredentialsError, match=WRONG_KEY.replace("(", r"\(").replace(")", r"\)")):
        vault_with(tmp_path, key_a).get("warehouse")


def test_set_refuses_to_mix_keys_in_one_vault(tmp_path: Path, warehouse_profile: SnowflakeProfile) -> None:
    vault_with(tmp_path, Vault.new_key()).set("warehouse", warehouse_profile)
    before = (tmp_path / "credentials.json").read_bytes()
    with pytest.raises(CredentialsError, match="was encrypted with another key"):
        vault_with(tmp_path, Vault.new_key()).set("other", warehouse_profile)
    assert (tmp_path / "credentials.json").read_bytes() == before


def test_rotate_with_a_key_that_does_not_open_the_vault_changes_nothing(
    tmp_path: Path, warehouse_profile: SnowflakeProfile
) -> None:
    vault_with(tmp_path, Vault.new_key()).set("warehouse", warehouse_profile)
    before = (tmp_path / "credentials.json").read_bytes()
    with pytest.raises(CredentialsError, match="was encrypted with another key"):
        vault_with(tmp_path, Vault.new_key()).rotate()
    assert (tmp_path / "credentials.json").read_bytes() == before
