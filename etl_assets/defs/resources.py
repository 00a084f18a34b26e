"""Resources: where runtime state lives, and connections to Snowflake (the local emulator by default)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field
from snowflake.connector.errors import Error as SnowflakeError

from etl_assets.credentials import SnowflakeProfile, Vault, resolve_secret_reference, secrets_scrubbed
from etl_assets.credentials.vault import VAULT_FILE_NAME
from etl_assets.paths import ProjectPaths
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.errors import classify

LOCAL_CONNECTION = "local"
SECRET_REFERENCE = re.compile(r"\$\{SECRET:([^}]+)\}")


class ProjectHome(dg.ConfigurableResource):
    """The ETL_ASSETS_HOME root; resolved when a run starts, not when the code is imported."""

    home: str | None = Field(default=None, description="Root folder for runtime state; default ETL_ASSETS_HOME or .etl_assets")

    @property
    def paths(self) -> ProjectPaths:
        return ProjectPaths(Path(self.home).resolve()) if self.home else ProjectPaths.from_env()


class CredentialsVault(dg.ConfigurableResource):
    """The Fernet vault under ETL_ASSETS_HOME; a profile is decrypted inside a method, at execution time only."""

    fernet_key: str | None = Field(default=None, description="ETL_ASSETS_FERNET_KEY: one key, or several comma-separated")
    home: str | None = Field(default=None, description="ETL_ASSETS_HOME holding credentials.json")

    def _vault(self) -> Vault:
        return Vault(ProjectHome(home=self.home).paths.home / VAULT_FILE_NAME, self.fernet_key)

    def has_profile(self, name: str) -> bool:
        """Whether a profile exists, read without decrypting anything."""
        return name in self._vault().names()

    def resolve_secrets(self, text: str) -> str:
        """Replace each ${SECRET:profile.field} the config kept with its decrypted value, at execution time."""
        vault = self._vault()
        return SECRET_REFERENCE.sub(lambda match: resolve_secret_reference(vault, match[1]), text)

    def snowflake_profile(self, name: str) -> SnowflakeProfile:
        profile = self._vault().get(name, "snowflake")
        assert isinstance(profile, SnowflakeProfile)
        return profile


class SnowflakeWarehouse(dg.ConfigurableResource):
    """Snowflake connections by name: `local` is the embedded emulator, started on demand; others are vault profiles."""

    home: str | None = Field(default=None, description="ETL_ASSETS_HOME whose emulator serves the `local` connection")
    vault: CredentialsVault = Field(default_factory=CredentialsVault)

    def has_connection(self, name: str) -> bool:
        return name == LOCAL_CONNECTION or self.vault.has_profile(name)

    @contextmanager
    def get_connection(self, name: str) -> Iterator:
        """A DB-API connection through dagster-snowflake and the real connector; no secret leaves in an error."""
        # Imported here: dagster-snowflake pulls in snowflake.core (2+ s), which code-location loads,
        # sensor ticks and non-load steps never need.
        from dagster_snowflake import SnowflakeResource

        if name == LOCAL_CONNECTION:
            args, secrets = LocalEmulator(ProjectHome(home=self.home).paths.warehouse).connection_args(), ()
        else:
            profile = self.vault.snowflake_profile(name)
            args, secrets = profile.connection_args(), tuple(profile.secret_values().values())
        resource = SnowflakeResource(
            account=args.pop("account"),
            user=args.pop("user"),
            password=args.pop("password", None),
            additional_snowflake_connection_args=args,
        )
        with ExitStack() as stack:
            try:
                with secrets_scrubbed(secrets):
                    connection = stack.enter_context(resource.get_connection())
            except SnowflakeError as exc:
                raise classify(exc, f"Connecting to warehouse connection '{name}'", connection_name=name) from None
            with secrets_scrubbed(secrets):
                yield connection
