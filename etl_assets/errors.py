"""Errors a user can meet: each message is one sentence that says what happened and what to do."""


class EtlAssetsError(Exception):
    """Base class; the CLI prints the message without a traceback and exits 2."""


class ConfigError(EtlAssetsError):
    """etl_config.yaml is missing, malformed or names something that does not exist."""


class IngestError(EtlAssetsError):
    """A landing zone or an uploaded file cannot be read."""


class LandingZoneError(IngestError):
    """The landing zone itself cannot be reached or refused an operation: its files are not at fault and stay there."""


class ScriptError(EtlAssetsError):
    """A generated ETL script is unsafe, fails, or cannot be saved."""


class WarehouseError(EtlAssetsError):
    """The warehouse or its local emulator refused or failed an operation."""


class CredentialsError(EtlAssetsError):
    """The credentials vault, its key or a profile in it is missing, wrong or damaged."""
