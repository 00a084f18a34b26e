"""The vault file: round trip, clear and encrypted parts, permissions, listing, deleting, secret references."""

from __future__ import annotations

import json
import stat

import pytest

from etl_assets.credentials.profiles import BedrockProfile, S3Profile, SnowflakeProfile
from etl_assets.credentials.vault import ProfileSummary, Vault, resolve_secret_reference
from etl_assets.errors import CredentialsError
from etl_assets_tests.credentials.conftest import PASSPHRASE, PASSWORD, S3_SECRET


def test_profiles_round_trip(vault: Vault, warehouse_profile: SnowflakeProfile, lake_profile: S3Profile) -> None:
    vault.set("warehouse", warehouse_profile)
    vault.set("lake", lake_profile)
    assert vault.get("warehouse") == warehouse_profile
    assert vault.get("lake", kind="s3") == lake_profile
    assert vault.names() == ["lake", "warehouse"]


def test_key_pair_profile_round_trips_and_still_opens(vault: Vault, encrypted_pem: str) -> None:
    profile = SnowflakeProfile(
        account="acme", user="loader", private_key=encrypted_pem, private_key_passphrase=PASSPHRASE
    )
    vault.set("keyed", profile)
    stored = vault.path.read_text()
    assert "PRIVATE KEY" not in stored and PASSPHRASE not in stored
    fetched = vault.get("keyed", kind="snowflake")
    assert isinstance(fetched, SnowflakeProfile)
    assert fetched.private_key_der() == profile.private_key_der()


def test_the_file_holds_clear_fields_and_fernet_tokens_only(vault: Vault, warehouse_profile: SnowflakeProfile) -> None:
    vault.set("warehouse", warehouse_profile)
    raw = vault.path.read_text()
    assert PASSWORD not in raw
    document = json.loads(raw)
    assert document["version"] == 1
    stored = document["profiles"]["warehouse"]
    assert stored["kind"] == "snowflake"
    assert stored["fields"] == warehouse_profile.clear_fields()
    assert list(stored["secrets"]) == ["password"]
    assert stored["secrets"]["password"].startswith("gAAAAA")


def test_the_vault_file_is_private_to_its_owner(vault: Vault, warehouse_profile: SnowflakeProfile) -> None:
    vault.set("warehouse", warehouse_profile)
    assert stat.S_IMODE(vault.path.stat().st_mode) == 0o600
    vault.path.chmod(0o644)
    vault.set("warehouse", warehouse_profile)
    assert stat.S_IMODE(vault.path.stat().st_mode) == 0o600


def test_set_overwrites_a_profile_of_the_same_name(vault: Vault, warehouse_profile: SnowflakeProfile) -> None:
    vault.set("warehouse", warehouse_profile)
    changed = warehouse_profile.model_copy(update={"role": "ADMIN"})
    vault.set("warehouse", changed)
    assert vault.get("warehouse").role == "ADMIN"  # type: ignore[union-attr]
    assert vault.names() == ["warehouse"]


def test_listing_shows_non_secret_fields_and_needs_no_key(
    vault: Vault, warehouse_profile: SnowflakeProfile, lake_profile: S3Profile
) -> None:
    vault.set("warehouse", warehouse_profile)
    vault.set("lake", lake_profile)
    keyless = Vault(vault.path, None, {})
    assert keyless.summaries() == [
        ProfileSummary("lake", "s3", {"access_key_id": "AKIAEXAMPLE", "region": "eu-west-1"}, ("secret_access_key",)),
        ProfileSummary("warehouse", "snowflake", warehouse_profile.clear_fields(), ("password",)),
    ]
    assert S3_SECRET not in repr(keyless.summaries()) and PASSWORD not in repr(keyless.summaries())


def test_delete_removes_one_profile_without_a_key(
    vault: Vault, warehouse_profile: SnowflakeProfile, lake_profile: S3Profile
) -> None:
    vault.set("warehouse", warehouse_profile)
    vault.set("lake", lake_profile)
    Vault(vault.path, None, {}).delete("lake")
    assert vault.names() == ["warehouse"]
    assert vault.get("warehouse") == warehouse_profile


def test_an_empty_vault_has_no_file_and_no_profiles(vault: Vault) -> None:
    assert vault.names() == [] and vault.summaries() == []
    assert vault.rotate() == 0
    assert not vault.path.exists()


@pytest.mark.parametrize("name", ["prod.eu", "with space", "", "x" * 65, "ünïcode", "trailing\n"])
def test_profile_names_are_letters_digits_underscore_and_dash(
    vault: Vault, warehouse_profile: SnowflakeProfile, name: str
) -> None:
    with pytest.raises(CredentialsError, match=r"is not allowed; use up to 64 letters, digits, '_' and '-'"):
        vault.set(name, warehouse_profile)
    vault.set("prod_eu-2", warehouse_profile)
    assert vault.names() == ["prod_eu-2"]


def test_secret_references_resolve_to_any_field(vault: Vault, warehouse_profile: SnowflakeProfile) -> None:
    vault.set("warehouse", warehouse_profile)
    assert resolve_secret_reference(vault, "warehouse.password") == PASSWORD
    assert resolve_secret_reference(vault, "warehouse.account") == "acme-prod"
    with pytest.raises(CredentialsError, match=r"profile 'warehouse' does not have set; use one of account, password"):
        resolve_secret_reference(vault, "warehouse.private_key")
    with pytest.raises(CredentialsError, match=r"write it as \$\{SECRET:profile.field\}"):
        resolve_secret_reference(vault, "warehouse")
    with pytest.raises(CredentialsError, match=r"There is no credentials profile 'nope'"):
        resolve_secret_reference(vault, "nope.password")


def test_the_vault_has_no_key_in_its_repr(vault: Vault, key: str) -> None:
    assert key not in repr(vault) and str(vault.path) in repr(vault)


def test_a_profile_without_secrets_is_read_without_a_key(vault: Vault) -> None:
    bedrock = BedrockProfile(region="us-east-1")
    vault.set("llm", bedrock)
    assert Vault(vault.path, None, {}).get("llm", kind="bedrock") == bedrock
