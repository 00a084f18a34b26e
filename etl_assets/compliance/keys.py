"""The hash key of a dataset's `mask: hash` columns, read from the credentials vault at run time (docs/architecture.md §8).

It is decrypted only where it is used (the transform's masking, an erasure's hashing of the value to find) and is
never handed to the generated script, written to a file or shown.
"""

from __future__ import annotations

from etl_assets.compliance.hashing import HashKey
from etl_assets.config.models import DatasetConfig
from etl_assets.credentials import HashKeyProfile, Vault
from etl_assets.errors import CredentialsError


def create_key_command(profile_name: str) -> str:
    """The command that makes a new random hash key under `profile_name`."""
    return f"etl-assets credentials set {profile_name} --kind hash_key --generate"


def load_hash_key(vault: Vault, dataset: DatasetConfig) -> HashKey:
    """The key in the vault profile `dataset.compliance.hash_key`; a one-sentence CredentialsError when it is missing."""
    name = dataset.compliance.hash_key
    if name not in vault.names():
        raise CredentialsError(
            f"Dataset '{dataset.name}' hashes columns with the key of credentials profile '{name}', which the vault "
            f"{vault.path} does not hold; create it with `{create_key_command(name)}`."
        )
    profile = vault.get(name, kind=HashKeyProfile.kind)
    assert isinstance(profile, HashKeyProfile)
    return HashKey(profile.key.get_secret_value().encode("utf-8"))
