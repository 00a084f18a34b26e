"""The bulk load of one window: Parquet -> PUT -> COPY INTO a staging table -> strategy SQL in one transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import pyarrow as pa
import pyarrow.parquet as pq
from snowflake.connector import errors as sf_errors

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.ddl import ensure_target
from etl_assets.warehouse.identifiers import object_name, qualified_name, quote_identifier

Strategy = Literal["append", "merge", "truncate_insert", "replace_window"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
STAGE_NAME = "ETL_ASSETS_STAGE"
WINDOW_START = "time_window_start"
WINDOW_END = "time_window_end"
RUN_ID = "_run_id"
LOADED_AT = "_loaded_at"
# staging only: the row's position in the file, so the latest of duplicate keys wins a merge
STAGED_ROW = "_staged_row"
ADDED_COLUMNS = (WINDOW_START, WINDOW_END, RUN_ID, LOADED_AT)
LINEAGE_ORDER = ("_arrived_at", "_source_file", "_source_row")
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")
IN_WINDOW = f'"{WINDOW_START}" = %s AND "{WINDOW_END}" = %s'
BATCH_ROWS = 65_536


@dataclass(frozen=True)
class LoadRequest:
    """One window of one dataset to load into a Snowflake table."""

    database: str
    schema: str
    table: str
    strategy: Strategy
    keys: list[str]
    window_key: str
    window_start: dt.datetime
    window_end: dt.datetime
    run_id: str
    parquet_path: Path


@dataclass(frozen=True)
class LoadResult:
    """What a load did to the target table."""

    rows_staged: int
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    rows_in_window: int
    strategy: str
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Plan:
    """The names and values the strategy SQL is built from."""

    target: str
    staging: str
    columns: list[str]
    keys: list[str]
    window: tuple[dt.datetime, dt.datetime]
    rows_staged: int


def load_window(connection, request: LoadRequest) -> LoadResult:
    """Load `request.parquet_path` into its table with its strategy; on failure the table's rows are unchanged.

    The connection's current schema is set to the target schema, which COPY INTO needs on the emulator.
    """
    table = object_name(request.table)
    if request.strategy not in STRATEGIES:
        raise WarehouseError(
            f"Unknown load strategy {request.strategy!r} for {table}; use one of {', '.join(STRATEGIES)}."
        )
    if request.strategy == "merge" and not request.keys:
        raise WarehouseError(f"The merge load of {table} needs keys; set load.keys or use strategy replace_window.")
    return _WindowLoad(connection.cursor(), request).run()


class _WindowLoad:
    """One load's names and progress, so a failure can say where it stopped and clean up after itself."""

    def __init__(self, cursor, request: LoadRequest):
        self.cursor = cursor
        self.request = request
        self.database, self.schema, self.table = (
            object_name(name) for name in (request.database, request.schema, request.table)
        )
        self.window = (_as_utc(request.window_start), _as_utc(request.window_end))
        run = _path_safe(request.run_id)
        self.target = qualified_name(self.database, self.schema, self.table)
        staging_table = f"{self.table}__STAGE_{run.replace('-', '')[:8]}_{uuid.uuid4().hex[:6]}".upper()
        self.staging = qualified_name(self.database, self.schema, staging_table)
        self.stage = qualified_name(self.database, self.schema, STAGE_NAME)
        self.stage_prefix = f"{self.stage}/{self.table.lower()}/{run}/{self.window[0]:%Y%m%dT%H%M%S}"
        self.step = "preparing the load file"
        self.files_left = False

    def run(self) -> LoadResult:
        request = self.request
        try:
            with tempfile.TemporaryDirectory(prefix=".load-", dir=request.parquet_path.parent) as tmp:
                load_file = Path(tmp) / f"{self.table.lower()}.parquet"
                rows, load_schema = _prepare(request, load_file, self.window)
                target_schema = load_schema.remove(load_schema.get_field_index(STAGED_ROW))
                missing = [key for key in request.keys if key not in target_schema.names]
                if missing:
                    raise WarehouseError(
                        f"Load keys {missing} of {self.table} are not columns of {request.parquet_path.name}; "
                        f"fix load.keys."
                    )
                self.step = "syncing the table schema"
                ensure_target(self.cursor, self.database, self.schema, self.table, target_schema)
                self.cursor.execute(f"USE SCHEMA {qualified_name(self.database, self.schema)}")
                self.step = "staging the rows"
                self._stage_rows(load_file, rows)
                plan = _Plan(self.target, self.staging, target_schema.names, list(request.keys), self.window, rows)
                if request.strategy == "merge":
                    _refuse_null_keys(self.cursor, plan, self.table)
                self.step = f"applying the {request.strategy} strategy"
                return _apply_in_transaction(self.cursor, plan, request.strategy)
        except sf_errors.Error as exc:
            raise WarehouseError(
                f"Loading window {request.window_key} into {self.database}.{self.schema}.{self.table} failed "
                f"while {self.step} ({_message(exc)}); the table's rows are unchanged, so fix the cause and rerun "
                f"the window."
            ) from exc
        finally:
            self._clean_up()
            self.cursor.close()

    def _stage_rows(self, load_file: Path, rows: int) -> None:
        """PUT the file and COPY it into a fresh staging table shaped like the target."""
        self.cursor.execute(f"CREATE TABLE {self.staging} LIKE {self.target}")
        self.cursor.execute(f"ALTER TABLE {self.staging} ADD COLUMN {quote_identifier(STAGED_ROW)} NUMBER(38,0)")
        if rows == 0:
            # nothing to copy; the strategy still runs, so replace_window empties the window
            return
        self.cursor.execute(f"CREATE STAGE IF NOT EXISTS {self.stage}")
        self.files_left = True
        self.cursor.execute(
            f"PUT '{_file_uri(load_file)}' @{self.stage_prefix} OVERWRITE = TRUE AUTO_COMPRESS = FALSE"
        )
        # CASE_INSENSITIVE: fakesnow upper-cases table columns under CASE_SENSITIVE, so lower-case names would
        # never match; column_definitions refuses names that differ only in case, so both modes match alike
        self.cursor.execute(
            f"COPY INTO {self.staging} FROM @{self.stage_prefix} FILE_FORMAT = (TYPE = PARQUET) "
            f"MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE"
        )
        self.files_left = False
        staged = _count(self.cursor, f"SELECT COUNT(*) FROM {self.staging}")
        if staged != rows:
            raise WarehouseError(f"COPY INTO staged {staged} rows but the load file has {rows}; rerun the window.")

    def _clean_up(self) -> None:
        """Drop the staging table, and the staged files a failed COPY left (PURGE removes loaded ones)."""
        statements = [f"DROP TABLE IF EXISTS {self.staging}"]
        if self.files_left:
            statements.append(f"REMOVE @{self.stage_prefix}")
        for sql in statements:
            # a clean-up failure must not replace the load's own result or error
            with contextlib.suppress(sf_errors.Error):
                self.cursor.execute(sql)


def _prepare(request: LoadRequest, load_file: Path, window: tuple[dt.datetime, dt.datetime]) -> tuple[int, pa.Schema]:
    try:
        return write_load_file(request.parquet_path, load_file, window, request.run_id)
    except (OSError, pa.ArrowException) as exc:
        raise WarehouseError(
            f"Cannot read {request.parquet_path} to load window {request.window_key} ({exc}); rerun its transform."
        ) from exc


def write_load_file(
    source: Path, destination: Path, window: tuple[dt.datetime, dt.datetime], run_id: str
) -> tuple[int, pa.Schema]:
    """Copy `source` batch by batch, adding the window, run and load-time columns; return rows and schema."""
    parquet = pq.ParquetFile(source)
    kept = [f for f in parquet.schema_arrow if f.name not in (*ADDED_COLUMNS, STAGED_ROW)]
    schema = pa.schema(
        [
            *kept,
            pa.field(WINDOW_START, UTC_TIMESTAMP),
            pa.field(WINDOW_END, UTC_TIMESTAMP),
            pa.field(RUN_ID, pa.string()),
            pa.field(LOADED_AT, UTC_TIMESTAMP),
            pa.field(STAGED_ROW, pa.int64()),
        ]
    )
    loaded_at = dt.datetime.now(dt.UTC)
    rows = 0
    with pq.ParquetWriter(destination, schema) as writer:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[f.name for f in kept]):
            size = batch.num_rows
            added = [
                pa.repeat(pa.scalar(window[0], UTC_TIMESTAMP), size),
                pa.repeat(pa.scalar(window[1], UTC_TIMESTAMP), size),
                pa.repeat(pa.scalar(run_id, pa.string()), size),
                pa.repeat(pa.scalar(loaded_at, UTC_TIMESTAMP), size),
                pa.array(range(rows, rows + size), pa.int64()),
            ]
            writer.write_batch(pa.RecordBatch.from_arrays([*batch.columns, *added], schema=schema))
            rows += size
    return rows, schema


def _refuse_null_keys(cursor, plan: _Plan, table: str) -> None:
    """A NULL key never matches in MERGE, so its row would be inserted again on every rerun."""
    condition = " OR ".join(f"{quote_identifier(key)} IS NULL" for key in plan.keys)
    nulls = _count(cursor, f"SELECT COUNT(*) FROM {plan.staging} WHERE {condition}")
    if nulls:
        raise WarehouseError(
            f"{nulls} rows of {table} have no value in merge keys {plan.keys}; "
            f"add a not_null quality rule on them or choose other load.keys."
        )


def _apply_in_transaction(cursor, plan: _Plan, strategy: str) -> LoadResult:
    """Run the strategy and verify its counts inside BEGIN/COMMIT; roll back on any error."""
    cursor.execute("BEGIN")
    try:
        window_before = _rows_in_window(cursor, plan)
        inserted, updated, deleted = STRATEGY_SQL[strategy](cursor, plan)
        window_after = _rows_in_window(cursor, plan)
        _verify(cursor, plan, strategy, (inserted, updated, window_before, window_after))
        cursor.execute("COMMIT")
    except BaseException:
        # a failed ROLLBACK must not hide the error that caused it
        with contextlib.suppress(sf_errors.Error):
            cursor.execute("ROLLBACK")
        raise
    return LoadResult(
        rows_staged=plan.rows_staged,
        rows_inserted=inserted,
        rows_updated=updated,
        rows_deleted=deleted,
        rows_in_window=window_after,
        strategy=strategy,
        keys=plan.keys,
    )


def _append(cursor, plan: _Plan) -> tuple[int, int, int]:
    return _insert_from_staging(cursor, plan), 0, 0


def _replace_window(cursor, plan: _Plan) -> tuple[int, int, int]:
    cursor.execute(f"DELETE FROM {plan.target} WHERE {IN_WINDOW}", plan.window)
    deleted = cursor.rowcount or 0
    return _insert_from_staging(cursor, plan), 0, deleted


def _truncate_insert(cursor, plan: _Plan) -> tuple[int, int, int]:
    # DELETE, not TRUNCATE: it is transactional everywhere and reports the rows it removed
    cursor.execute(f"DELETE FROM {plan.target}")
    deleted = cursor.rowcount or 0
    return _insert_from_staging(cursor, plan), 0, deleted


def _merge(cursor, plan: _Plan) -> tuple[int, int, int]:
    keys = [quote_identifier(key) for key in plan.keys]
    order = [f"{quote_identifier(c)} DESC" for c in (*LINEAGE_ORDER, STAGED_ROW) if c in (*plan.columns, STAGED_ROW)]
    columns = [quote_identifier(c) for c in plan.columns]
    updates = [quote_identifier(c) for c in plan.columns if c not in plan.keys]
    cursor.execute(
        f"MERGE INTO {plan.target} AS t USING ("
        f"SELECT {', '.join(columns)} FROM {plan.staging} "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {', '.join(keys)} ORDER BY {', '.join(order)}) = 1"
        f") AS s ON {' AND '.join(f't.{k} = s.{k}' for k in keys)} "
        f"WHEN MATCHED THEN UPDATE SET {', '.join(f't.{c} = s.{c}' for c in updates)} "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({', '.join('s.' + c for c in columns)})"
    )
    inserted, updated = cursor.fetchone()[:2]
    return int(inserted), int(updated), 0


STRATEGY_SQL: dict[str, Callable[..., tuple[int, int, int]]] = {
    "append": _append,
    "merge": _merge,
    "truncate_insert": _truncate_insert,
    "replace_window": _replace_window,
}


def _insert_from_staging(cursor, plan: _Plan) -> int:
    columns = ", ".join(quote_identifier(c) for c in plan.columns)
    cursor.execute(f"INSERT INTO {plan.target} ({columns}) SELECT {columns} FROM {plan.staging}")
    return cursor.rowcount or 0


def _verify(cursor, plan: _Plan, strategy: str, counts: tuple[int, int, int, int]) -> None:
    """Refuse to commit when the table does not hold what the strategy implies."""
    inserted, updated, window_before, window_after = counts
    if strategy == "merge":
        keys = ", ".join(quote_identifier(key) for key in plan.keys)
        expected = _count(cursor, f"SELECT COUNT(*) FROM (SELECT 1 FROM {plan.staging} GROUP BY {keys})")
        actual, what = inserted + updated, "rows merged"
    elif strategy == "truncate_insert":
        actual = _count(cursor, f"SELECT COUNT(*) FROM {plan.target}")
        expected, what = plan.rows_staged, "rows in the table"
    elif strategy == "append":
        expected, actual, what = window_before + plan.rows_staged, window_after, "rows in the window"
    else:
        expected, actual, what = plan.rows_staged, window_after, "rows in the window"
    if actual != expected or (strategy != "merge" and inserted != plan.rows_staged):
        raise WarehouseError(
            f"The {strategy} load expected {expected} {what} but found {actual} ({inserted} inserted); "
            f"it was rolled back, so rerun the window."
        )


def _rows_in_window(cursor, plan: _Plan) -> int:
    return _count(cursor, f"SELECT COUNT(*) FROM {plan.target} WHERE {IN_WINDOW}", plan.window)


def _count(cursor, sql: str, params: tuple | None = None) -> int:
    cursor.execute(sql, params)
    return int(cursor.fetchone()[0])


def _as_utc(moment: dt.datetime) -> dt.datetime:
    """A window bound in UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _path_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text) or "run"


def _file_uri(path: Path) -> str:
    return "file://" + path.resolve().as_posix().replace("\\", "\\\\").replace("'", "\\'")


def _message(exc: sf_errors.Error) -> str:
    return (getattr(exc, "msg", None) or str(exc)).strip().splitlines()[0]
