"""Resources: where runtime state lives, and connections to Snowflake (the local emulator by default)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field
from snowflake.connector.errors import Error as SnowflakeError

from etl_assets.paths import ProjectPaths
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.errors import classify

LOCAL_CONNECTION = "local"


class ProjectHome(dg.ConfigurableResource):
    """The ETL_ASSETS_HOME root; resolved when a run starts, not when the code is imported."""

    home: str | None = Field(default=None, description="Root folder for runtime state; default ETL_ASSETS_HOME or .etl_assets")

    @property
    def paths(self) -> ProjectPaths:
        return ProjectPaths(Path(self.home).resolve()) if self.home else ProjectPaths.from_env()


class SnowflakeWarehouse(dg.ConfigurableResource):
    """Snowflake connections by name; `local` is the embedded emulator, started on demand."""

    home: str | None = Field(default=None, description="ETL_ASSETS_HOME whose emulator serves the `local` connection")

    def has_connection(self, name: str) -> bool:
        return name == LOCAL_CONNECTION

    @contextmanager
    def get_connection(self, name: str) -> Iterator:
        """A DB-API connection through dagster-snowflake and the real connector."""
        # Imported here: dagster-snowflake pulls in snowflake.core (2+ s), which code-location loads,
        # sensor ticks and non-load steps never need.
        from dagster_snowflake import SnowflakeResource

        paths = ProjectHome(home=self.home).paths
        emulator = LocalEmulator(paths.warehouse)
        emulator.ensure_running()
        args = emulator.connection_args()
        resource = SnowflakeResource(
            account=args.pop("account"),
            user=args.pop("user"),
            password=args.pop("password"),
            additional_snowflake_connection_args=args,
        )
        with ExitStack() as stack:
            try:
                connection = stack.enter_context(resource.get_connection())
            except SnowflakeError as exc:
                raise classify(exc, f"Connecting to warehouse connection '{name}'", connection_name=name) from exc
            yield connection
