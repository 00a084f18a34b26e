"""Fixtures for the credentials vault: keys, a vault under a temporary home, and a real RSA key pair."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from etl_assets.credentials.profiles import S3Profile, SnowflakeProfile
from etl_assets.credentials.vault import Vault

PASSWORD = "Pa55-word-of-the-vault!"
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PASSPHRASE = "open sesame, said the key"


@pytest.fixture
def key() -> str:
    return Vault.new_key()


@pytest.fixture
def vault(tmp_path: Path, key: str) -> Vault:
    return Vault.for_home(tmp_path / "home", {"ETL_ASSETS_FERNET_KEY": key})


@pytest.fixture
def warehouse_profile() -> SnowflakeProfile:
    return SnowflakeProfile(
        account="acme-prod", user="loader", password=PASSWORD, role="LOADER", warehouse="LOAD_WH", schema="RAW"
    )


@pytest.fixture
def lake_profile() -> S3Profile:
    return S3Profile(access_key_id="AKIAEXAMPLE", secret_access_key=S3_SECRET, region="eu-west-1")


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def encrypted_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    """The private key as PEM, encrypted with PASSPHRASE, as `openssl genrsa -aes256` would write it."""
    return rsa_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    ).decode()
