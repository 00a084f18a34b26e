"""Questions asked of a loaded table after the fact: rows of a window, column types."""

from __future__ import annotations

import datetime as dt

from snowflake.connector import errors as sf_errors

from etl_assets.warehouse.ddl import existing_columns
from etl_assets.warehouse.errors import classify
from etl_assets.warehouse.identifiers import object_name, qualified_name, quote_identifier

WINDOW_START = "time_window_start"
WINDOW_END = "time_window_end"


def rows_in_window(
    connection, database: str, schema: str, table: str, window_start: dt.datetime, window_end: dt.datetime
) -> int:
    """How many rows of the table carry this window's `time_window_start`/`time_window_end`."""
    target = qualified_name(*(object_name(name) for name in (database, schema, table)))
    sql = (
        f"SELECT COUNT(*) FROM {target} "
        f"WHERE {quote_identifier(WINDOW_START)} = %s AND {quote_identifier(WINDOW_END)} = %s"
    )
    with connection.cursor() as cursor:
        try:
            cursor.execute(sql, (as_utc(window_start), as_utc(window_end)))
            return int(cursor.fetchone()[0])
        except sf_errors.Error as exc:
            raise classify(exc, f"Counting the rows of {database}.{schema}.{table}") from exc


def column_types(connection, database: str, schema: str, table: str) -> dict[str, str]:
    """Column name -> Snowflake type (e.g. NUMBER(12,2), VARCHAR), in table order; empty when there is no table."""
    names = [object_name(name) for name in (database, schema, table)]
    with connection.cursor() as cursor:
        try:
            return existing_columns(cursor, *names)
        except sf_errors.Error as exc:
            raise classify(exc, f"Reading the columns of {database}.{schema}.{table}") from exc


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A window bound in UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
