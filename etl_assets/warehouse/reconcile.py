"""Questions asked of a loaded table after the fact: rows of a window, column types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb
from snowflake.connector import errors as sf_errors

from etl_assets import local_duckdb
from etl_assets.excluded_rows import kept_count, kept_relation
from etl_assets.warehouse.ddl import existing_columns
from etl_assets.warehouse.errors import classify
from etl_assets.config.columns import RUN_ID, WINDOW_END, WINDOW_START
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.identifiers import object_name
from etl_assets.warehouse.load_file import keys_in_file
from etl_assets.warehouse.model import LoadRequest, LoadResult, Reconciliation, as_utc


def rows_in_window(
    connection, database: str, schema: str, table: str, window_start: dt.datetime, window_end: dt.datetime
) -> int:
    """How many rows of the table carry this window's `time_window_start`/`time_window_end`."""
    return count_rows(connection, (database, schema, table), {WINDOW_START: as_utc(window_start), WINDOW_END: as_utc(window_end)})


def rows_written_by_run(
    connection, database: str, schema: str, table: str, window_start: dt.datetime, window_end: dt.datetime, run_id: str
) -> int:
    """Rows of the window that carry this run's `_run_id`: every row a load inserted or updated."""
    return count_rows(
        connection,
        (database, schema, table),
        {WINDOW_START: as_utc(window_start), WINDOW_END: as_utc(window_end), RUN_ID: run_id},
    )


def count_rows(connection, table: tuple[str, str, str], equal: dict) -> int:
    """COUNT(*) of the rows whose columns equal the bound values."""
    target = qualified_name(*(object_name(name) for name in table))
    where = " AND ".join(f"{quote_identifier(column)} = %s" for column in equal)
    with connection.cursor() as cursor:
        try:
            cursor.execute(f"SELECT COUNT(*) FROM {target} WHERE {where}", tuple(equal.values()))
            return int(cursor.fetchone()[0])
        except sf_errors.Error as exc:
            raise classify(exc, f"Counting the rows of {'.'.join(table)}") from exc


def window_starts_with_rows(connection, database: str, schema: str, table: str, start: dt.datetime, end: dt.datetime) -> set[dt.datetime]:
    """The window starts, within [start, end), that hold rows in the table, in UTC."""
    target = qualified_name(*(object_name(name) for name in (database, schema, table)))
    column = quote_identifier(WINDOW_START)
    with connection.cursor() as cursor:
        try:
            cursor.execute(f"SELECT DISTINCT {column} FROM {target} WHERE {column} >= %s AND {column} < %s", (as_utc(start), as_utc(end)))
            return {as_utc(moment) for (moment,) in cursor.fetchall()}
        except sf_errors.Error as exc:
            raise classify(exc, f"Reading the windows of {database}.{schema}.{table}") from exc


def expected_rows(
    parquet_path: Path,
    strategy: str,
    keys: Sequence[str],
    database: duckdb.DuckDBPyConnection | None = None,
    excluded: Path | None = None,
) -> int:
    """Rows a load of this file (all but its `excluded` rows) must leave in its window: one per key for merge, every
    row otherwise.

    Every row is the Parquet footer's count; distinct keys are counted in DuckDB, in a cursor of `database` when
    given (a range's windows then open one DuckDB between them).
    """
    file_keys = keys_in_file(keys)
    if strategy != "merge" or not file_keys:
        return kept_count(parquet_path, excluded)
    columns = ", ".join(quote_identifier(key) for key in file_keys)
    sql = f"SELECT COUNT(*) FROM (SELECT DISTINCT {columns} FROM {kept_relation(parquet_path, excluded)})"
    with local_duckdb.connect() if database is None else database.cursor() as local:
        return int(local.execute(sql).fetchone()[0])


def reconcile_window(
    connection, request: LoadRequest, keys: Sequence[str], result: LoadResult, database: duckdb.DuckDBPyConnection | None = None
) -> Reconciliation:
    """Compare the rows of the load file with the rows this run wrote to the window and those kept newer elsewhere.

    A load that committed counted the rows it wrote inside its transaction; a window an earlier attempt loaded is
    counted here. A merge whose load counted the file's distinct keys already is not counted again."""
    if request.strategy == "merge" and result.distinct_keys is not None and list(keys) == list(request.keys):
        expected = result.distinct_keys
    else:
        expected = expected_rows(request.parquet_path, request.strategy, keys, database, request.excluded_rows)
    found = result.rows_written_by_run
    if found is None:
        found = rows_written_by_run(
            connection, request.database, request.schema, request.table, request.window_start, request.window_end, request.run_id
        )
    start = as_utc(request.window_start)
    newer = {f"{as_utc(moment):%Y-%m-%d %H:%M}": rows for moment, rows in result.rows_taken_from.items() if as_utc(moment) > start}
    return Reconciliation(request.window_key, expected, found, result.rows_superseded, newer)


def column_types(connection, database: str, schema: str, table: str) -> dict[str, str]:
    """Column name -> Snowflake type (e.g. NUMBER(12,2), VARCHAR), in table order; empty when there is no table."""
    names = [object_name(name) for name in (database, schema, table)]
    with connection.cursor() as cursor:
        try:
            return existing_columns(cursor, *names)
        except sf_errors.Error as exc:
            raise classify(exc, f"Reading the columns of {database}.{schema}.{table}") from exc
