"""The keys a `references` rule checks against, read from the other dataset's table in the warehouse."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from snowflake.connector import errors as sf_errors

from etl_assets.config.models import DatasetConfig
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.errors import MISSING_OBJECT_ERRNOS, classify
from etl_assets.warehouse.identifiers import object_name


def loaded_keys(connection: Any, other: DatasetConfig, key: str) -> pa.Table | None:
    """The distinct values of `key` in `other`'s table over a DB-API connection, or None when the table does not exist."""
    names = [object_name(name) for name in (other.warehouse.database, other.warehouse.schema_, other.load.table)]
    try:
        with connection.cursor() as cursor:
            if not _table_exists(cursor, *names):
                return None
            cursor.execute(f"SELECT DISTINCT {quote_identifier(key)} FROM {qualified_name(*names)}")
            rows = cursor.fetchall()
    except sf_errors.Error as exc:
        raise classify(exc, f"Reading the keys of {other.target_name}") from exc
    return pa.table({key: [row[0] for row in rows]})


def _table_exists(cursor: Any, database: str, schema: str, table: str) -> bool:
    # Asked of the table's own database: the session may have no current database, or another one.
    try:
        cursor.execute(
            f"SELECT COUNT(*) FROM {quote_identifier(database)}.information_schema.tables "
            "WHERE table_schema = %s AND table_name = %s",
            (schema, table),
        )
    except sf_errors.ProgrammingError as exc:
        if exc.errno in MISSING_OBJECT_ERRNOS:  # the database itself does not exist yet
            return False
        raise
    return bool(cursor.fetchone()[0])
