"""Rows into a staging table: CREATE it shaped like the load files, PUT the files on the stage, COPY INTO it.

A window's own load (loader.py) and a range's shared one (range_staging.py) stage alike.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import uuid

from snowflake.connector import errors as sf_errors

from etl_assets.config.columns import STAGED_ROW
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.ddl import column_definitions
from etl_assets.warehouse.errors import PermanentWarehouseError
from etl_assets.warehouse.load_file import PART_PATTERN, LoadFiles
from etl_assets.warehouse.strategies import Progress, count

STAGE_NAME = "ETL_ASSETS_STAGE"
PUT_THREADS = 4  # Snowflake's default, said out loud


def staging_table(database: str, schema: str, table: str, first_window: dt.datetime, last_window: dt.datetime | None = None) -> str:
    """The staging table of a window, or of a range's windows from first to last: a rerun replaces what a crash left."""
    slug = f"{first_window:%Y%m%dT%H%M%S}" + (f"_{last_window:%Y%m%dT%H%M%S}" if last_window is not None else "")
    return qualified_name(database, schema, f"{table}__STAGE_{slug}")


def stage_of(database: str, schema: str) -> str:
    return qualified_name(database, schema, STAGE_NAME)


def stage_prefix(stage: str, table: str, first_window: dt.datetime) -> str:
    """A stage folder per attempt, so COPY never sees files a crashed attempt left (the emulator has no REMOVE)."""
    return f"{stage}/{table.lower()}/{first_window:%Y%m%dT%H%M%S}/{uuid.uuid4().hex}/"


def create_staging_table(cursor, staging: str, files: LoadFiles) -> None:
    """A fresh staging table with the load files' columns; JSON arrives as text and is parsed into VARIANT later."""
    target_schema = files.schema.remove(files.schema.get_field_index(STAGED_ROW))
    columns = column_definitions(target_schema) | {name: "VARCHAR" for name in files.json_columns}
    definitions = ", ".join(f"{quote_identifier(name)} {sf_type}" for name, sf_type in columns.items())
    cursor.execute(f"CREATE OR REPLACE TABLE {staging} ({definitions}, {quote_identifier(STAGED_ROW)} NUMBER(38,0))")


def put_files(cursor, stage: str, prefix: str, files: LoadFiles, progress: Progress) -> None:
    """PUT the part files into the stage folder `prefix` of `stage`, in one PUT that uploads them in parallel.

    The connector reads the PUT's path as a wildcard pattern, so the folder's own name is escaped: a `[` in it
    must not become a character class that matches no file.
    """
    cursor.execute(f"CREATE STAGE IF NOT EXISTS {stage}")
    progress("put")
    folder = files.parts[0].parent
    pattern = glob.escape(str(folder.resolve())) + "/" + PART_PATTERN
    cursor.execute(f"PUT '{file_uri(pattern)}' @{prefix} PARALLEL = {PUT_THREADS} OVERWRITE = TRUE AUTO_COMPRESS = FALSE")


def copy_into(cursor, staging: str, prefix: str, files: LoadFiles, table: str, progress: Progress) -> None:
    """COPY the staged files into the staging table (purging them) and check every row arrived."""
    progress("copy")
    cursor.execute(copy_statement(staging, prefix))
    staged = count(cursor, f"SELECT COUNT(*) FROM {staging}")
    if staged != files.rows:
        raise PermanentWarehouseError(
            f"COPY INTO staged {staged} rows of {table} but the load files have {files.rows}; rerun the window."
        )


def copy_statement(table: str, prefix: str) -> str:
    """COPY INTO `table` of the Parquet files under the stage folder `prefix`, by column name, purging them.

    A file column the table lacks (`_staged_row` in a table's own columns) is not loaded.
    """
    # CASE_INSENSITIVE: fakesnow upper-cases table columns under CASE_SENSITIVE, so lower-case names would
    # never match; column_definitions refuses names that differ only in case, so both modes match alike
    return f"COPY INTO {table} FROM @{prefix} FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE"


def drop_staging(cursor, staging: str | None, prefix: str | None) -> None:
    """Drop the staging table, and with `prefix` the stage files a failed COPY left (PURGE removes loaded ones).

    A clean-up failure must not replace the load's own result or error, so it is ignored.
    """
    statements = ([f"DROP TABLE IF EXISTS {staging}"] if staging else []) + ([f"REMOVE @{prefix}"] if prefix else [])
    for sql in statements:
        with contextlib.suppress(sf_errors.Error):
            cursor.execute(sql)


def file_uri(path: str) -> str:
    """A file:// URI of an absolute path, quoted for a PUT's single-quoted file name."""
    return "file://" + path.replace("\\", "\\\\").replace("'", "\\'")
