"""The `env` profile: the seed systems' SNOWFLAKE_* environment variables, read on demand and never stored."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from etl_assets.credentials.profiles import SnowflakeProfile, validation_problems
from etl_assets.errors import CredentialsError

ENV_PROFILE = "env"
PRIVATE_KEY_PATH_VAR = "SNOWFLAKE_PRIVATE_KEY_PATH"
CLEAR_VARIABLES = {
    "account": "SNOWFLAKE_ACCOUNT",
    "user": "SNOWFLAKE_USER",
    "role": "SNOWFLAKE_ROLE",
    "warehouse": "SNOWFLAKE_WAREHOUSE",
    "database": "SNOWFLAKE_DATABASE",
    "schema": "SNOWFLAKE_SCHEMA",
}
SECRET_VARIABLES = {
    "password": "SNOWFLAKE_PASSWORD",
    "private_key_passphrase": "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
}


def has_environment_profile(environ: Mapping[str, str]) -> bool:
    """True when the environment names a Snowflake account, so `env` is a profile to offer."""
    return bool(environ.get(CLEAR_VARIABLES["account"]))


def environment_clear_fields(environ: Mapping[str, str]) -> dict[str, Any]:
    """The non-secret fields the environment sets, for listing."""
    return {field: environ[variable] for field, variable in CLEAR_VARIABLES.items() if environ.get(variable)}


def environment_secret_names(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The names of the secret fields the environment sets, for listing."""
    variables = {**SECRET_VARIABLES, "private_key": PRIVATE_KEY_PATH_VAR}
    return tuple(field for field, variable in variables.items() if environ.get(variable))


def environment_profile(environ: Mapping[str, str]) -> SnowflakeProfile:
    """The Snowflake profile the SNOWFLAKE_* variables describe."""
    if not has_environment_profile(environ):
        raise CredentialsError(
            f"The profile '{ENV_PROFILE}' stands for the SNOWFLAKE_* environment variables, but SNOWFLAKE_ACCOUNT "
            "is not set; set SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH."
        )
    fields = {
        field: environ[variable]
        for field, variable in {**CLEAR_VARIABLES, **SECRET_VARIABLES}.items()
        if environ.get(variable)
    }
    key_path = environ.get(PRIVATE_KEY_PATH_VAR)
    if key_path:
        fields["private_key"] = _read_private_key(Path(key_path).expanduser())
    try:
        return SnowflakeProfile.model_validate(fields)
    except ValidationError as exc:
        raise CredentialsError(
            f"The SNOWFLAKE_* environment variables do not make a valid profile "
            f"({validation_problems(exc, SnowflakeProfile)}); correct those variables."
        ) from None


def _read_private_key(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not text"
        raise CredentialsError(
            f"{PRIVATE_KEY_PATH_VAR} names {path}, which cannot be read ({reason}); point it at the PEM file "
            "of the private key."
        ) from None
