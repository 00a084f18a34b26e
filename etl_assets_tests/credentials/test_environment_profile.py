"""The `env` profile: SNOWFLAKE_* variables read on demand, listed without secrets, never stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from etl_assets.credentials.profiles import SnowflakeProfile
from etl_assets.credentials.vault import ProfileSummary, Vault
from etl_assets.errors import CredentialsError
from etl_assets_tests.credentials.conftest import PASSPHRASE, PASSWORD

SEED_ENVIRONMENT = {
    "SNOWFLAKE_ACCOUNT": "seed-account",
    "SNOWFLAKE_USER": "seed_user",
    "SNOWFLAKE_PASSWORD": PASSWORD,
    "SNOWFLAKE_ROLE": "SEED_ROLE",
    "SNOWFLAKE_WAREHOUSE": "SEED_WH",
    "SNOWFLAKE_DATABASE": "SEED_DB",
    "SNOWFLAKE_SCHEMA": "SEED",
}


def test_env_resolves_from_the_seed_variables_without_a_key_or_a_file(tmp_path: Path) -> None:
    vault = Vault.for_home(tmp_path, SEED_ENVIRONMENT)
    profile = vault.get("env", kind="snowflake")
    assert isinstance(profile, SnowflakeProfile)
    assert profile.connection_args() == {
        "account": "seed-account",
        "user": "seed_user",
        "password": PASSWORD,
        "role": "SEED_ROLE",
        "warehouse": "SEED_WH",
        "database": "SEED_DB",
        "schema": "SEED",
    }
    assert vault.names() == ["env"]
    assert not (tmp_path / "credentials.json").exists()


def test_env_is_listed_with_its_clear_fields_only(tmp_path: Path, key: str) -> None:
    vault = Vault.for_home(tmp_path, {**SEED_ENVIRONMENT, "ETL_ASSETS_FERNET_KEY": key})
    vault.set("stored", SnowflakeProfile(account="a", user="u", password="p"))
    summaries = vault.summaries()
    assert [summary.name for summary in summaries] == ["stored", "env"]
    assert summaries[1] == ProfileSummary(
        "env",
        "snowflake",
        {
            "account": "seed-account",
            "user": "seed_user",
            "role": "SEED_ROLE",
            "warehouse": "SEED_WH",
            "database": "SEED_DB",
            "schema": "SEED",
        },
        ("password",),
        "environment",
    )
    assert PASSWORD not in repr(summaries)
    assert PASSWORD not in (tmp_path / "credentials.json").read_text()


def test_env_reads_an_encrypted_private_key_file(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, encrypted_pem: str
) -> None:
    key_file = tmp_path / "rsa_key.p8"
    key_file.write_text(encrypted_pem)
    environ = {
        "SNOWFLAKE_ACCOUNT": "seed-account",
        "SNOWFLAKE_USER": "seed_user",
        "SNOWFLAKE_PRIVATE_KEY_PATH": str(key_file),
        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE,
    }
    profile = Vault.for_home(tmp_path, environ).get("env")
    der = profile.connection_args()["private_key"]  # type: ignore[union-attr]
    assert serialization.load_der_private_key(der, password=None).public_key().public_numbers() == (
        rsa_key.public_key().public_numbers()
    )


def test_env_problems_name_the_variables_to_set(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match=r"SNOWFLAKE_ACCOUNT is not set; set SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER"):
        Vault.for_home(tmp_path, {}).get("env")
    missing_key = {"SNOWFLAKE_ACCOUNT": "a", "SNOWFLAKE_USER": "u", "SNOWFLAKE_PRIVATE_KEY_PATH": str(tmp_path / "no")}
    with pytest.raises(CredentialsError, match=r"SNOWFLAKE_PRIVATE_KEY_PATH names .*no, which cannot be read"):
        Vault.for_home(tmp_path, missing_key).get("env")
    no_user = {name: value for name, value in SEED_ENVIRONMENT.items() if name != "SNOWFLAKE_USER"}
    with pytest.raises(CredentialsError, match=r"do not make a valid profile \('user' is required") as raised:
        Vault.for_home(tmp_path, no_user).get("env")
    assert PASSWORD not in str(raised.value)


def test_env_is_a_snowflake_profile(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match=r"'env' is of kind 'snowflake', not 's3'"):
        Vault.for_home(tmp_path, SEED_ENVIRONMENT).get("env", kind="s3")
