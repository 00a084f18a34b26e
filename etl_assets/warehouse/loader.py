"""The bulk load of one window: Parquet -> PUT -> COPY INTO a staging table -> strategy SQL in one transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

import pyarrow as pa
from snowflake.connector import errors as sf_errors

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.ddl import SchemaChanges, ensure_target
from etl_assets.warehouse.errors import PermanentWarehouseError, classify, is_unreachable
from etl_assets.warehouse.identifiers import object_name, qualified_name, quote_identifier
from etl_assets.warehouse.ledger import LoadLedger
from etl_assets.warehouse.load_file import LoadFiles, write_load_files
from etl_assets.warehouse.reconcile import as_utc
from etl_assets.warehouse.strategies import (
    STAGED_ROW,
    Progress,
    StrategyPlan,
    apply_in_transaction,
    count,
    refuse_null_keys,
)

Strategy = Literal["append", "merge", "truncate_insert", "replace_window"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
STAGE_NAME = "ETL_ASSETS_STAGE"
UNCHANGED = "the table's rows are unchanged"


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
    dataset: str = ""


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
    schema_changes: SchemaChanges = field(default_factory=SchemaChanges)
    load_id: str | None = None
    # the rows are committed, but the ledger could not be told; the next attempt marks that row failed
    ledger_error: str | None = None


def load_window(
    connection, request: LoadRequest, ledger: LoadLedger | None = None, progress: Progress | None = None
) -> LoadResult:
    """Load `request.parquet_path` into its table with its strategy; on failure the table's rows are unchanged.

    Raises TransientWarehouseError (retry) or PermanentWarehouseError (fix something). `ledger` records the
    attempt (pending -> uploading -> uploaded | failed); `progress` hears each step's name as it starts:
    ensure_target, put, copy, begin, strategy, verify, commit, cleanup. The connection's current schema is set
    to the target schema, which COPY INTO needs on the emulator.
    """
    load = _WindowLoad(connection.cursor(), request, progress or (lambda step: None))
    if ledger is None:
        return load.run()
    load_id = ledger.start(
        dataset=request.dataset or load.table.lower(),
        table_name=load.table,
        window_key=request.window_key,
        window_start=request.window_start,
        window_end=request.window_end,
        run_id=request.run_id,
        strategy=request.strategy,
        keys=request.keys,
    )
    load.before_upload = lambda: ledger.update(load_id, "uploading")
    try:
        result = load.run()
    except WarehouseError as error:
        if not (load.unreachable or is_unreachable(error.__cause__)):
            with contextlib.suppress(WarehouseError):
                ledger.finish(load_id, "failed", error=str(error))
        raise
    counts = {name: getattr(result, name) for name in ("rows_staged", "rows_inserted", "rows_updated", "rows_deleted")}
    try:
        ledger.finish(load_id, "uploaded", **counts)
    except WarehouseError as error:
        return replace(result, load_id=load_id, ledger_error=str(error))
    return replace(result, load_id=load_id)


class _WindowLoad:
    """One load's names and progress, so a failure can say where it stopped and clean up after itself."""

    def __init__(self, cursor, request: LoadRequest, progress: Progress):
        self.cursor = cursor
        self.request = request
        self.progress = progress
        self.before_upload: Callable[[], None] = lambda: None
        self.database, self.schema, self.table = (
            object_name(name) for name in (request.database, request.schema, request.table)
        )
        self.window = (as_utc(request.window_start), as_utc(request.window_end))
        window_slug = f"{self.window[0]:%Y%m%dT%H%M%S}"
        self.target = qualified_name(self.database, self.schema, self.table)
        # one staging table per window, so a rerun replaces the one a crashed attempt left behind
        self.staging = qualified_name(self.database, self.schema, f"{self.table}__STAGE_{window_slug}")
        self.stage = qualified_name(self.database, self.schema, STAGE_NAME)
        # a folder per attempt, so COPY never sees files a crashed attempt left (the emulator has no REMOVE)
        self.stage_prefix = f"{self.stage}/{self.table.lower()}/{window_slug}/{uuid.uuid4().hex}/"
        self.step = "preparing the load file"
        self.files_left = False
        self.unreachable = False

    def run(self) -> LoadResult:
        request = self.request
        if request.strategy not in STRATEGIES:
            raise PermanentWarehouseError(
                f"Unknown load strategy {request.strategy!r} for {self.table}; use one of {', '.join(STRATEGIES)}."
            )
        if request.strategy == "merge" and not request.keys:
            raise PermanentWarehouseError(
                f"The merge load of {self.table} needs keys; set load.keys or use strategy replace_window."
            )
        try:
            with tempfile.TemporaryDirectory(prefix=".load-", dir=request.parquet_path.parent) as tmp:
                files = _prepare(request, Path(tmp), self.window)
                target_schema = files.schema.remove(files.schema.get_field_index(STAGED_ROW))
                missing = [key for key in request.keys if key not in target_schema.names]
                if missing:
                    raise PermanentWarehouseError(
                        f"Load keys {missing} of {self.table} are not columns of {request.parquet_path.name}; "
                        f"fix load.keys."
                    )
                self._step("ensure_target", "syncing the table schema")
                changes = ensure_target(self.cursor, self.database, self.schema, self.table, target_schema)
                self.cursor.execute(f"USE SCHEMA {qualified_name(self.database, self.schema)}")
                self.before_upload()
                self._stage_rows(files)
                plan = StrategyPlan(
                    self.target, self.staging, target_schema.names, list(request.keys), self.window,
                    request.run_id, files.rows,
                )  # fmt: skip
                if request.strategy == "merge":
                    refuse_null_keys(self.cursor, plan, self.table)
                self.step = f"applying the {request.strategy} strategy"
                counts = apply_in_transaction(self.cursor, plan, request.strategy, self.progress)
        except (sf_errors.Error, OSError) as exc:
            self.unreachable = is_unreachable(exc)
            raise classify(
                exc,
                f"Loading window {request.window_key} into {self.database}.{self.schema}.{self.table}",
                during=self.step,
                outcome=UNCHANGED,
            ) from exc
        finally:
            self._clean_up()
            self.cursor.close()
        return LoadResult(
            rows_staged=files.rows,
            rows_inserted=counts.inserted,
            rows_updated=counts.updated,
            rows_deleted=counts.deleted,
            rows_in_window=counts.in_window,
            strategy=request.strategy,
            keys=list(request.keys),
            schema_changes=changes,
        )

    def _step(self, name: str, description: str) -> None:
        self.step = description
        self.progress(name)

    def _stage_rows(self, files: LoadFiles) -> None:
        """PUT the part files and COPY them into a fresh staging table shaped like the target."""
        self.step = "staging the rows"
        self.cursor.execute(f"CREATE OR REPLACE TABLE {self.staging} LIKE {self.target}")
        self.cursor.execute(f"ALTER TABLE {self.staging} ADD COLUMN {quote_identifier(STAGED_ROW)} NUMBER(38,0)")
        if files.rows == 0:
            # nothing to copy; the strategy still runs, so replace_window empties the window
            return
        self.cursor.execute(f"CREATE STAGE IF NOT EXISTS {self.stage}")
        self._step("put", "uploading the rows to the stage")
        self.files_left = True
        for part in files.parts:
            self.cursor.execute(
                f"PUT '{_file_uri(part)}' @{self.stage_prefix} OVERWRITE = TRUE AUTO_COMPRESS = FALSE"
            )
        self._step("copy", "copying the rows into the staging table")
        # CASE_INSENSITIVE: fakesnow upper-cases table columns under CASE_SENSITIVE, so lower-case names would
        # never match; column_definitions refuses names that differ only in case, so both modes match alike
        self.cursor.execute(
            f"COPY INTO {self.staging} FROM @{self.stage_prefix} FILE_FORMAT = (TYPE = PARQUET) "
            f"MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE"
        )
        self.files_left = False
        staged = count(self.cursor, f"SELECT COUNT(*) FROM {self.staging}")
        if staged != files.rows:
            raise PermanentWarehouseError(
                f"COPY INTO staged {staged} rows of {self.table} but the load files have {files.rows}; "
                f"rerun the window."
            )

    def _clean_up(self) -> None:
        """Drop the staging table, and the staged files a failed COPY left (PURGE removes loaded ones)."""
        if self.unreachable:
            # the next attempt of this window replaces the staging table; waiting on a dead connection helps nobody
            return
        self.progress("cleanup")
        statements = [f"DROP TABLE IF EXISTS {self.staging}"]
        if self.files_left:
            statements.append(f"REMOVE @{self.stage_prefix}")
        for sql in statements:
            # a clean-up failure must not replace the load's own result or error
            with contextlib.suppress(sf_errors.Error):
                self.cursor.execute(sql)


def _prepare(request: LoadRequest, folder: Path, window: tuple[dt.datetime, dt.datetime]) -> LoadFiles:
    try:
        return write_load_files(request.parquet_path, folder, window, request.run_id)
    except (OSError, pa.ArrowException) as exc:
        raise PermanentWarehouseError(
            f"Cannot read {request.parquet_path} to load window {request.window_key} ({exc}); rerun its transform."
        ) from exc


def _file_uri(path: Path) -> str:
    return "file://" + path.resolve().as_posix().replace("\\", "\\\\").replace("'", "\\'")
