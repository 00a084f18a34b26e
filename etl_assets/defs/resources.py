"""Resources: where runtime state lives, the credentials vault, landing zones, and Snowflake connections (the local
emulator by default).

Each is a thin Dagster face over domain code: the vault in `credentials`, landing zones in `ingest`, connections in
`warehouse.connections`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field
from snowflake.connector import SnowflakeConnection

from etl_assets.compliance.hashing import HashKey
from etl_assets.compliance.keys import load_hash_key
from etl_assets.config.models import DatasetConfig
from etl_assets.credentials import Vault, resolve_secrets
from etl_assets.credentials.vault import VAULT_FILE_NAME
from etl_assets.ingest.landing import LandingZone
from etl_assets.ingest.s3_landing import s3_client_args
from etl_assets.ingest.zones import landing_zone_for
from etl_assets.paths import ProjectPaths
from etl_assets.scriptgen.llm import ScriptModel, bedrock_client_args, model_for
from etl_assets.warehouse.connections import WarehouseConnections


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

    def vault(self) -> Vault:
        return Vault(ProjectHome(home=self.home).paths.home / VAULT_FILE_NAME, self.fernet_key)

    def resolve_secrets(self, text: str) -> str:
        """Replace each ${SECRET:profile.field} the config kept with its decrypted value, at execution time."""
        return resolve_secrets(self.vault(), text)

    def hash_key(self, dataset: DatasetConfig) -> HashKey:
        """The key of the dataset's `mask: hash` columns, decrypted now; it stays in this process."""
        return load_hash_key(self.vault(), dataset)


class SnowflakeWarehouse(dg.ConfigurableResource):
    """Snowflake connections by name: `local` is the embedded emulator, started on demand; others are vault profiles."""

    home: str | None = Field(default=None, description="ETL_ASSETS_HOME whose emulator serves the `local` connection")
    vault: CredentialsVault = Field(default_factory=CredentialsVault)

    def connections(self) -> WarehouseConnections:
        return WarehouseConnections(ProjectHome(home=self.home).paths, self.vault.vault())

    def has_connection(self, name: str) -> bool:
        return self.connections().has_connection(name)

    @contextmanager
    def get_connection(self, name: str) -> Iterator[SnowflakeConnection]:
        """A DB-API connection through the real connector; no secret leaves in an error."""
        with self.connections().connect(name) as connection:
            yield connection


class ScriptModels(dg.ConfigurableResource):
    """The model that writes a dataset's script (`transform.generator: llm`); the Bedrock profile it names is
    decrypted inside model(), when a script is really written, never when the code is loaded."""

    vault: CredentialsVault = Field(default_factory=CredentialsVault)

    def model(self, dataset: DatasetConfig, config_folder: Path) -> ScriptModel:
        assert dataset.transform is not None
        llm = dataset.transform.llm
        return model_for(llm, config_folder, bedrock_client_args(llm, self.vault.vault()))


class LandingZones(dg.ConfigurableResource):
    """Each dataset's landing zone; an S3 one reads through dagster-aws' S3Resource, made when the zone is asked for
    with the credentials decrypted then, so no secret is ever part of this resource's config."""

    vault: CredentialsVault = Field(default_factory=CredentialsVault)

    def zone_for(self, dataset: DatasetConfig) -> LandingZone:
        if not dataset.source.is_s3:
            return landing_zone_for(dataset.source)
        # imported here: dagster-aws takes about half a second to import, which only S3 landing zones need to pay
        from dagster_aws.s3 import S3Resource

        client = S3Resource(**s3_client_args(dataset.source.s3, self.vault.vault())).get_client()
        return landing_zone_for(dataset.source, client)
