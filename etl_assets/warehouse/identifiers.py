"""Snowflake identifiers: configured names are validated, and every name sent is quoted."""

from __future__ import annotations

import re

from etl_assets.warehouse.errors import PermanentWarehouseError

CONFIGURED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted Snowflake identifier, embedded quotes doubled."""
    if not name:
        raise PermanentWarehouseError("An empty name cannot be sent to Snowflake; give every table and column a name.")
    return '"' + name.replace('"', '""') + '"'


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


def qualified_name(*parts: str) -> str:
    """Quoted parts joined by dots, e.g. "ANALYTICS"."RAW"."ORDERS"."""
    return ".".join(quote_identifier(part) for part in parts)
