"""The hash key as a vault secret: read by load_hash_key, a one-sentence error naming the command when it is missing."""

from __future__ import annotations

import pytest

from etl_assets.compliance.keys import load_hash_key
from etl_assets.config.models import DatasetConfig
from etl_assets.credentials import HashKeyProfile, SnowflakeProfile, Vault, build_profile
from etl_assets.errors import CredentialsError

SECRET = "a-hash-key-of-forty-characters-0123456789"


def dataset(compliance: dict) -> DatasetConfig:
    return DatasetConfig.model_validate(
        {
            "name": "signups",
            "source": {"path": "/tmp/landing/signups"},
            "load": {"table": "SIGNUPS"},
            "compliance": compliance,
        }
    )


@pytest.fixture
def vault(tmp_path) -> Vault:
    return Vault.for_home(tmp_path / "home", {"ETL_ASSETS_FERNET_KEY": Vault.new_key()})


def test_the_key_comes_from_the_profile_the_dataset_names(vault):
    vault.set("pii_hash_key", HashKeyProfile(key=SECRET))
    vault.set("other_key", HashKeyProfile(key=SECRET[::-1]))
    key = load_hash_key(vault, dataset({"mask": {"email": "hash"}}))
    assert key.secret == SECRET.encode() and key.token("ann@example.com") == load_hash_key(vault, dataset({"mask": {"email": "hash"}})).token("ann@example.com")
    other = load_hash_key(vault, dataset({"mask": {"email": "hash"}, "hash_key": "other_key"}))
    assert other.token("ann@example.com") != key.token("ann@example.com")
    assert SECRET not in vault.path.read_text(), "stored encrypted"
    assert SECRET not in repr(vault.get("pii_hash_key"))


def test_a_missing_key_is_one_sentence_naming_the_dataset_the_profile_and_the_command(vault):
    with pytest.raises(CredentialsError) as missing:
        load_hash_key(vault, dataset({"mask": {"email": "hash"}}))
    message = str(missing.value)
    assert "signups" in message and "'pii_hash_key'" in message
    assert "`etl-assets credentials set pii_hash_key --kind hash_key --generate`" in message
    assert message.count(". ") == 0 and message.endswith(".")


def test_a_profile_of_another_kind_is_refused(vault):
    vault.set("pii_hash_key", SnowflakeProfile(account="a", user="u", password="pw"))
    with pytest.raises(CredentialsError, match="kind 'snowflake', not 'hash_key'"):
        load_hash_key(vault, dataset({"mask": {"email": "hash"}}))


def test_a_short_key_is_refused_without_echoing_it():
    with pytest.raises(CredentialsError) as short:
        build_profile("hash_key", {"key": "too-short-a-key"})
    assert "at least 32 characters" in str(short.value) and "too-short-a-key" not in str(short.value)
