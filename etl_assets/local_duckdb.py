"""DuckDB databases for work over a window's rows: memory bounded, spilling to disk, in UTC.

DuckDB's own default lets a query take 80% of the machine's memory, so one big window would grow a process far
past what a worker has; with a limit, sorts, joins and temp tables spill to a folder instead (docs/architecture.md §3).
"""

from __future__ import annotations

import os
import tempfile
import uuid

import duckdb

from etl_assets.errors import ConfigError

MEMORY_LIMIT_VARIABLE = "ETL_ASSETS_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "400MB"


def memory_limit() -> str:
    """The memory one DuckDB database may use before it spills: `ETL_ASSETS_DUCKDB_MEMORY_LIMIT`, or 400MB."""
    return os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip() or DEFAULT_MEMORY_LIMIT


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory database within memory_limit(), in UTC.

    Its spill folder is a new one in the temp folder: DuckDB creates it on the first spill and removes it on close.
    """
    spill = os.path.join(tempfile.gettempdir(), f"etl_assets-duckdb-{uuid.uuid4().hex}")
    try:
        connection = duckdb.connect(config={"memory_limit": memory_limit(), "temp_directory": spill})
    except duckdb.Error as error:
        raise ConfigError(
            f"{MEMORY_LIMIT_VARIABLE}={memory_limit()!r} is not a DuckDB memory size ({error}); use a size such as 400MB or 2GB."
        ) from None
    # GLOBAL: the cursors a range's windows each get inherit it
    connection.execute("SET GLOBAL TimeZone = 'UTC'")
    # a long query would otherwise draw a progress bar into the step's log
    connection.execute("SET enable_progress_bar = false")
    return connection
