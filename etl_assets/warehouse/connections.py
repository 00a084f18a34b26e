"""Snowflake connections by name: `local` is the embedded emulator, started on demand; any other name is a vault profile.

Every connection goes through the real Snowflake connector. A secret is decrypted only while a connection opens,
and no error raised inside `connect` carries one (docs/architecture.md §6).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import snowflake.connector
from snowflake.connector.errors import Error as SnowflakeError

from etl_assets.credentials import SnowflakeProfile, Vault, secrets_scrubbed
from etl_assets.paths import ProjectPaths
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.errors import classify

LOCAL_CONNECTION = "local"
APPLICATION = "etl_assets"


@dataclass(frozen=True)
class WarehouseConnections:
    """Where `local` lives (the project's paths) and which vault holds the other connections' profiles."""

    paths: ProjectPaths
    vault: Vault

    @classmethod
    def for_home(cls, paths: ProjectPaths) -> WarehouseConnections:
        """The connections of ETL_ASSETS_HOME `paths.home`, with the vault keyed by ETL_ASSETS_FERNET_KEY."""
        return cls(paths, Vault.for_home(paths.home))

    def has_connection(self, name: str) -> bool:
        """Whether `name` can be opened: `local`, or a profile in the vault (read without decrypting anything)."""
        return name == LOCAL_CONNECTION or name in self.vault.names()

    @contextmanager
    def connect(self, name: str) -> Iterator[snowflake.connector.SnowflakeConnection]:
        """An open connection, committed when the block ends cleanly and closed however it ends."""
        args, secrets = self._connection_args(name)
        with secrets_scrubbed(secrets):
            try:
                connection = snowflake.connector.connect(application=APPLICATION, **args)
            except SnowflakeError as exc:
                raise classify(exc, f"Connecting to warehouse connection '{name}'", connection_name=name) from None
            try:
                yield connection
                connection.commit()
            finally:
                connection.close()

    def _connection_args(self, name: str) -> tuple[dict, tuple[str, ...]]:
        if name == LOCAL_CONNECTION:
            return LocalEmulator(self.paths.warehouse).connection_args(), ()
        profile = self.vault.get(name, "snowflake")
        assert isinstance(profile, SnowflakeProfile)
        return profile.connection_args(), tuple(profile.secret_values().values())
