"""The credentials vault: named profiles in ETL_ASSETS_HOME/credentials.json, secrets as Fernet tokens (docs/architecture.md §6)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import InvalidToken
from pydantic import SecretStr

from etl_assets.credentials.environment import (
    ENV_PROFILE,
    environment_clear_fields,
    environment_profile,
    environment_secret_names,
    has_environment_profile,
)
from etl_assets.credentials.keys import FERNET_KEY_ENV, KeyRing, new_key
from etl_assets.credentials.profiles import Profile, build_profile
from etl_assets.credentials.storage import StoredProfile, read_vault, vault_lock, write_vault
from etl_assets.errors import CredentialsError

VAULT_FILE_NAME = "credentials.json"
PROFILE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# `${SECRET:profile.field}`: a credentials field of the config names a vault secret, resolved at run time
SECRET_REFERENCE = re.compile(r"\$\{SECRET:([^}]*)\}")


@dataclass(frozen=True)
class ProfileSummary:
    """What `credentials list` shows of a profile: its non-secret fields and only the names of its secrets."""

    name: str
    kind: str
    fields: dict[str, Any]
    secrets: tuple[str, ...] = ()
    source: Literal["vault", "environment"] = "vault"


class Vault:
    """The profiles of one vault file; secrets are decrypted only inside `get`, and only with the configured key."""

    def __init__(self, path: Path, keys: str | None, environ: Mapping[str, str] = os.environ) -> None:
        self.path = path
        self._keys = SecretStr(keys or "")
        self._environ = environ

    @classmethod
    def for_home(cls, home: Path, environ: Mapping[str, str] = os.environ) -> Vault:
        """The vault under ETL_ASSETS_HOME `home`, keyed by ETL_ASSETS_FERNET_KEY from `environ`."""
        return cls(home / VAULT_FILE_NAME, environ.get(FERNET_KEY_ENV), environ)

    @staticmethod
    def new_key() -> str:
        """A fresh key for ETL_ASSETS_FERNET_KEY."""
        return new_key()

    def __repr__(self) -> str:
        return f"Vault({str(self.path)!r})"

    def names(self) -> list[str]:
        """Every profile `get` can return: the stored ones, and `env` when the SNOWFLAKE_* variables set one."""
        stored = sorted(read_vault(self.path))
        return [*stored, ENV_PROFILE] if has_environment_profile(self._environ) else stored

    def summaries(self) -> list[ProfileSummary]:
        """Every profile's non-secret fields; needs no key."""
        summaries = [
            ProfileSummary(name, stored.kind, dict(stored.fields), tuple(stored.secrets))
            for name, stored in sorted(read_vault(self.path).items())
        ]
        if has_environment_profile(self._environ):
            env_fields = environment_clear_fields(self._environ)
            env_secrets = environment_secret_names(self._environ)
            summaries.append(ProfileSummary(ENV_PROFILE, "snowflake", env_fields, env_secrets, "environment"))
        return summaries

    def get(self, name: str, kind: str | None = None) -> Profile:
        """The profile `name`, secrets decrypted; `kind` refuses a profile of another kind."""
        if name == ENV_PROFILE:
            self._check_kind(name, "snowflake", kind)
            return environment_profile(self._environ)
        stored = self._stored(read_vault(self.path), name)
        self._check_kind(name, stored.kind, kind)
        if stored.secrets:
            self._check_key_id(self._key_ring, stored)
        secrets = {secret: self._decrypt(name, secret, token) for secret, token in stored.secrets.items()}
        return build_profile(stored.kind, {**stored.fields, **secrets})

    def set(self, name: str, profile: Profile) -> None:
        """Store `profile` as `name`, replacing any profile of that name."""
        self._check_name(name)
        ring = self._key_ring
        with vault_lock(self.path):
            profiles = read_vault(self.path)
            for other_name, other in profiles.items():
                if other_name != name:
                    self._check_key_id(ring, other)
            profiles[name] = StoredProfile(
                kind=profile.kind,
                fields=profile.clear_fields(),
                secrets={secret: ring.encrypt(value) for secret, value in profile.secret_values().items()},
                key_id=ring.primary_id,
            )
            write_vault(self.path, profiles)

    def delete(self, name: str) -> None:
        """Remove the profile `name`; needs no key."""
        self._refuse_env(name, "delete")
        with vault_lock(self.path):
            profiles = read_vault(self.path)
            self._stored(profiles, name)
            del profiles[name]
            write_vault(self.path, profiles)

    def rotate(self) -> int:
        """Re-encrypt every secret under the first key, so the other keys can be dropped; returns the profile count."""
        ring = self._key_ring
        with vault_lock(self.path):
            profiles = read_vault(self.path)
            if not profiles:
                return 0
            rotated = {}
            for name, stored in profiles.items():
                self._check_key_id(ring, stored)
                tokens = {secret: self._rotate(ring, name, secret, token) for secret, token in stored.secrets.items()}
                rotated[name] = stored.model_copy(update={"secrets": tokens, "key_id": ring.primary_id})
            write_vault(self.path, rotated)
            return len(rotated)

    @cached_property
    def _key_ring(self) -> KeyRing:
        return KeyRing.parse(self._keys.get_secret_value())

    def _stored(self, profiles: dict[str, StoredProfile], name: str) -> StoredProfile:
        if name in profiles:
            return profiles[name]
        known = sorted(profiles) + ([ENV_PROFILE] if has_environment_profile(self._environ) else [])
        if not known:
            raise CredentialsError(
                f"There is no credentials profile '{name}' because the vault {self.path} holds none yet; "
                "add one with `etl-assets credentials set`."
            )
        raise CredentialsError(
            f"There is no credentials profile '{name}' in {self.path}; use one of {', '.join(known)} "
            "or add it with `etl-assets credentials set`."
        )

    def _check_kind(self, name: str, actual: str, wanted: str | None) -> None:
        if wanted is not None and actual != wanted:
            raise CredentialsError(
                f"The credentials profile '{name}' is of kind '{actual}', not '{wanted}'; "
                f"name a profile of kind '{wanted}' instead (see `etl-assets credentials list`)."
            )

    def _check_key_id(self, ring: KeyRing, stored: StoredProfile) -> None:
        if stored.secrets and not ring.knows(stored.key_id):
            raise self._wrong_key()

    def _decrypt(self, name: str, secret: str, token: str) -> str:
        try:
            return self._key_ring.decrypt(token)
        except InvalidToken:
            raise self._tampered(name, secret) from None

    def _rotate(self, ring: KeyRing, name: str, secret: str, token: str) -> str:
        try:
            return ring.rotate(token)
        except InvalidToken:
            raise self._tampered(name, secret) from None

    def _wrong_key(self) -> CredentialsError:
        return CredentialsError(
            f"The credentials vault {self.path} was encrypted with another key; set {FERNET_KEY_ENV} to the key "
            "it was written with (several keys may be given, comma-separated)."
        )

    def _tampered(self, name: str, secret: str) -> CredentialsError:
        return CredentialsError(
            f"The secret '{secret}' of credentials profile '{name}' in {self.path} does not match its signature, "
            "so the file was altered or damaged; restore it from a backup or set the profile again."
        )

    def _check_name(self, name: str) -> None:
        self._refuse_env(name, "store")
        if not PROFILE_NAME.fullmatch(name):
            raise CredentialsError(
                f"The profile name {name!r} is not allowed; use up to 64 letters, digits, '_' and '-'."
            )

    def _refuse_env(self, name: str, action: str) -> None:
        if name == ENV_PROFILE:
            instead = "choose another name" if action == "store" else "unset those variables instead"
            raise CredentialsError(
                f"The profile name '{ENV_PROFILE}' stands for the SNOWFLAKE_* environment variables, so the vault "
                f"cannot {action} it; {instead}."
            )


def resolve_secrets(vault: Vault, text: str) -> str:
    """`text` with each `${SECRET:profile.field}` replaced by its decrypted value."""
    return SECRET_REFERENCE.sub(lambda match: resolve_secret_reference(vault, match[1]), text)


def resolve_secret_reference(vault: Vault, reference: str) -> str:
    """The value `${SECRET:profile.field}` stands for, read from `vault` at run time."""
    profile_name, _, field_name = reference.partition(".")
    if not profile_name or not field_name:
        raise CredentialsError(
            f"The secret reference ${{SECRET:{reference}}} does not name a profile and a field; "
            "write it as ${SECRET:profile.field}, for example ${SECRET:warehouse.password}."
        )
    profile = vault.get(profile_name)
    values = {**profile.clear_fields(), **profile.secret_values()}
    if field_name not in values:
        raise CredentialsError(
            f"The secret reference ${{SECRET:{reference}}} names a field that profile '{profile_name}' does not "
            f"have set; use one of {', '.join(sorted(values))}."
        )
    return str(values[field_name])
