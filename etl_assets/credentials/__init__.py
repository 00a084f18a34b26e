"""The credentials vault: Fernet-encrypted connection profiles under ETL_ASSETS_HOME (docs/architecture.md §6)."""

from etl_assets.credentials.keys import FERNET_KEY_ENV
from etl_assets.credentials.profiles import (
    BedrockProfile,
    HashKeyProfile,
    Profile,
    S3Profile,
    SnowflakeProfile,
    build_profile,
)
from etl_assets.credentials.redaction import redact, scrub_exception, secrets_scrubbed
from etl_assets.credentials.vault import ProfileSummary, Vault, resolve_secret_reference, resolve_secrets

__all__ = [
    "FERNET_KEY_ENV",
    "BedrockProfile",
    "HashKeyProfile",
    "Profile",
    "ProfileSummary",
    "S3Profile",
    "SnowflakeProfile",
    "Vault",
    "build_profile",
    "redact",
    "resolve_secret_reference",
    "resolve_secrets",
    "scrub_exception",
    "secrets_scrubbed",
]
