"""A range's windows staged together: one set of load files, one PUT and one COPY INTO for many windows.

Each window is then loaded on its own, reading its slice of the shared staging table in its own transaction, so
a range pays the stage round trips once while every window keeps its own strategy, ledger row and atomicity
(docs/architecture.md §5). A lone window, or one too big to share, is staged by its own load as before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
from snowflake.connector import errors as sf_errors

from etl_assets.config.columns import STAGED_ROW
from etl_assets.errors import WarehouseError
from etl_assets.excluded_rows import StaleExcludedRows, kept_count
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.ddl import existing_columns
from etl_assets.warehouse.errors import classify
from etl_assets.warehouse.identifiers import object_name
from etl_assets.warehouse.load_file import LoadSource, load_schema, write_range_files
from etl_assets.warehouse.loader import StagedWindow
from etl_assets.warehouse.model import LoadRequest, as_utc
from etl_assets.warehouse.staging import copy_into, create_staging_table, drop_staging, put_files, stage_of, stage_prefix, staging_table
from etl_assets.warehouse.strategies import KeyFacts, Progress, range_key_facts

# Windows are staged together up to this many rows: the load files of a range sit on disk twice (here and on the
# stage) until its windows are loaded, and a window this big pays its PUT and COPY back many times over anyway.
RANGE_ROWS = 2_000_000


def range_groups(requests: Sequence[LoadRequest]) -> list[list[LoadRequest]]:
    """Consecutive requests that can share one staging table: same table, same load schema, rows within RANGE_ROWS.

    Empty windows are left out (they load nothing), as are those that load even when empty (quarantines).
    """
    groups: list[list[LoadRequest]] = []
    current: list[LoadRequest] = []
    current_rows, current_schema = 0, None
    for request in requests:
        rows = kept_count(request.parquet_path, request.excluded_rows)
        if rows == 0 or request.load_empty:
            continue
        schema = (request.database, request.schema, request.table, load_schema(request.parquet_path))
        if current and (schema != current_schema or current_rows + rows > RANGE_ROWS):
            groups.append(current)
            current, current_rows = [], 0
        current.append(request)
        current_rows += rows
        current_schema = schema
    if current:
        groups.append(current)
    return groups


def _key_facts(cursor, requests: Sequence[LoadRequest], staging: str, names: tuple[str, str, str]) -> dict[dt.datetime, KeyFacts]:
    """For a range of merges on the same keys, their null-key and contested-key answers in one query; else none."""
    keys = requests[0].keys
    if any(request.strategy != "merge" or request.keys != keys for request in requests) or not keys:
        return {}
    # a table without one of the key columns (or no table yet) holds no row a staged key could match
    has_keys = set(keys) <= set(existing_columns(cursor, *names))
    return range_key_facts(cursor, staging, list(keys), qualified_name(*names) if has_keys else None)


@contextlib.contextmanager
def staged_range(connection, requests: Sequence[LoadRequest], progress: Progress) -> Iterator[dict[str, StagedWindow]]:
    """Stage the requests' rows in one staging table; yield each window's slice by window key, then drop the table.

    Raises TransientWarehouseError or PermanentWarehouseError (classified) when staging fails; nothing was loaded.
    """
    first, last = requests[0], requests[-1]
    database, schema, table = (object_name(name) for name in (first.database, first.schema, first.table))
    staging = staging_table(database, schema, table, as_utc(first.window_start), as_utc(last.window_start))
    stage = stage_of(database, schema)
    prefix = stage_prefix(stage, table, as_utc(first.window_start))
    cursor = connection.cursor()
    step = "writing the load files"
    try:
        with tempfile.TemporaryDirectory(prefix=".load-range-", dir=first.parquet_path.parent) as folder:
            sources = [LoadSource(r.parquet_path, (as_utc(r.window_start), as_utc(r.window_end)), r.excluded_rows) for r in requests]
            files = write_range_files(sources, Path(folder), first.run_id)
            step = "creating the staging table"
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified_name(database, schema)}")
            # COPY INTO resolves the staging table in the current schema on the emulator
            cursor.execute(f"USE SCHEMA {qualified_name(database, schema)}")
            create_staging_table(cursor, staging, files)
            step = "uploading the range's rows to the stage"
            put_files(cursor, stage, prefix, files, progress)
            step = "copying the range's rows into the staging table"
            copy_into(cursor, staging, prefix, files, table, progress)
            step = "checking the range's merge keys"
            key_facts = _key_facts(cursor, requests, staging, (database, schema, table))
    except (sf_errors.Error, WarehouseError, OSError, pa.ArrowException, duckdb.Error, StaleExcludedRows) as exc:
        drop_staging(cursor, staging, prefix)
        cursor.close()
        raise classify(
            exc,
            f"Staging windows {first.window_key} to {last.window_key} of {database}.{schema}.{table}",
            during=step,
            outcome="no window of the range was loaded",
        ) from exc
    row = quote_identifier(STAGED_ROW)
    windows = {
        request.window_key: StagedWindow(
            relation=f"(SELECT * FROM {staging} WHERE {row} >= {begin} AND {row} < {end})",
            rows=rows,
            schema=files.schema,
            json_columns=files.json_columns,
            key_facts=key_facts.get(as_utc(request.window_start)),
        )
        for request, (begin, end), rows in zip(requests, files.spans, files.counts, strict=True)
    }
    try:
        yield windows
    finally:
        drop_staging(cursor, staging, None)
        cursor.close()
