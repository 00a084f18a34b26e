"""Configured Snowflake names: validated, and resolved the way Snowflake resolves unquoted names (etl_assets.sql_text quotes them)."""

from __future__ import annotations

import re

from etl_assets.warehouse.errors import PermanentWarehouseError

CONFIGURED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate_identifier(name: str) -> str:
    """A configured database, schema or table name, refused unless letters, digits and underscores."""
    if not CONFIGURED_NAME.match(name or ""):
        raise PermanentWarehouseError(
            f"{name!r} is not a valid Snowflake name; use letters, digits and underscores, starting with a letter."
        )
    return name


def object_name(name: str) -> str:
    """A configured name as Snowflake resolves it unquoted: validated and upper case."""
    return validate_identifier(name).upper()

