"""The keys a `references` rule checks against, read from the other dataset's table in the warehouse."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from etl_assets.config.models import DatasetConfig
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.identifiers import object_name


def loaded_keys(connection: Any, other: DatasetConfig, key: str) -> pa.Table | None:
    """The distinct values of `key` in `other`'s table over a DB-API connection, or None when the table does not exist."""
    names = [object_name(name) for name in (other.warehouse.database, other.warehouse.schema_, other.load.table)]
    cursor = connection.cursor()
    cursor.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_catalog = %s AND table_schema = %s AND table_name = %s",
        tuple(names),
    )
    if not cursor.fetchone()[0]:
        return None
    cursor.execute(f"SELECT DISTINCT {quote_identifier(key)} FROM {qualified_name(*names)}")
    return pa.table({key: [row[0] for row in cursor.fetchall()]})
