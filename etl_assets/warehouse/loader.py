"""The bulk load of one window: Parquet -> PUT -> COPY INTO a staging table -> strategy SQL in one transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from snowflake.connector import errors as sf_errors

from etl_assets.config.columns import STAGED_ROW
from etl_assets.errors import WarehouseError
from etl_assets.excluded_rows import StaleExcludedRows
from etl_assets.sql_text import qualified_name
from etl_assets.warehouse.ddl import ensure_target
from etl_assets.warehouse.errors import PermanentWarehouseError, classify, is_unreachable
from etl_assets.warehouse.identifiers import object_name
from etl_assets.warehouse.ledger import Attempt, LoadLedger
from etl_assets.warehouse.load_file import LoadFiles, content_fingerprint, source_key_facts, write_load_files
from etl_assets.warehouse.model import STRATEGIES, LoadRequest, LoadResult, as_utc
from etl_assets.warehouse.reconcile import rows_in_window
from etl_assets.warehouse.staging import (
    copy_into, copy_statement, create_staging_table, drop_staging, put_files, stage_of, stage_prefix, staging_table,
)  # fmt: skip
from etl_assets.warehouse.strategies import KeyFacts, Progress, StrategyCounts, StrategyPlan, apply_in_transaction, refuse_null_keys

UNCHANGED = "the table's rows are unchanged"


@dataclass(frozen=True)
class StagedWindow:
    """A window's rows already staged with the other windows of its range (range_staging.py).

    `relation` is the SQL its strategy reads them from, a slice of the range's staging table.
    """

    relation: str
    rows: int
    schema: pa.Schema
    json_columns: frozenset[str]
    # a merge's null-key and contested-key answers, asked once for the range; None: asked by the window's load
    key_facts: KeyFacts | None = None


def load_window(
    connection,
    request: LoadRequest,
    ledger: LoadLedger | None = None,
    progress: Progress | None = None,
    staged: StagedWindow | None = None,
    target_columns: dict[str, str] | None = None,
    load_id: str | None = None,
) -> LoadResult:
    """Load `request.parquet_path` into its table with its strategy; on failure the table's rows are unchanged.

    Raises TransientWarehouseError (retry) or PermanentWarehouseError (fix something). `ledger` records the
    attempt: `pending` when it starts, `uploading` before the rows are staged, and its outcome (`uploaded` with the
    counts) inside the load's own transaction, so the ledger never says more or less than what committed. With a
    ledger, a window this run already loaded is not loaded again, and an `append` of rows already appended is
    skipped. `progress` hears each step's name as it starts: ensure_target, put, copy, begin, strategy, verify,
    commit, committed, cleanup. The connection's current schema is set to the target schema, which COPY INTO
    needs on the emulator. Given `staged`, the rows are read from there instead: no files, PUT or COPY of its own,
    and no look for an earlier load of this run (the range left out the windows it had loaded). `target_columns`,
    the table's columns as the caller last read them, spares the schema statements when they hold the rows.
    `load_id` is the ledger row of an attempt its range already started (LoadLedger.start_all).
    """
    load = _WindowLoad(connection, request, ledger, progress or (lambda step: None), target_columns, load_id)
    if ledger is not None and staged is None and (earlier := load.earlier_load_of_this_run()):
        return earlier
    return load.run(staged)


class _WindowLoad:
    """One load's names, ledger row and progress, so a failure can say where it stopped and clean up after itself."""

    def __init__(
        self,
        connection,
        request: LoadRequest,
        ledger: LoadLedger | None,
        progress: Progress,
        target_columns: dict[str, str] | None,
        load_id: str | None = None,
    ):
        self.connection = connection
        self.target_columns = target_columns
        self.cursor = None
        self.request = request
        self.ledger = ledger
        self.progress = progress
        self.database, self.schema, self.table = (
            object_name(name) for name in (request.database, request.schema, request.table)
        )
        self.dataset = ledger_attempt(request).dataset
        self.window = (as_utc(request.window_start), as_utc(request.window_end))
        self.target = qualified_name(self.database, self.schema, self.table)
        # one staging table per window, so a rerun replaces the one a crashed attempt left behind
        self.staging = staging_table(self.database, self.schema, self.table, self.window[0])
        self.stage = stage_of(self.database, self.schema)
        self.stage_prefix = stage_prefix(self.stage, self.table, self.window[0])
        self.step = "preparing the load file"
        self.load_id = load_id
        self.content_hash: str | None = None
        self.files_left = False
        self.staged = False
        self.unreachable = False

    def earlier_load_of_this_run(self) -> LoadResult | None:
        """What this run already committed for the window, so that a retry of the run does not load it again."""
        assert self.ledger is not None
        row = self.ledger.uploaded(self.dataset, self.table, self.request.window_key, run_id=self.request.run_id)
        if row is None:
            return None
        in_window = rows_in_window(self.connection, self.database, self.schema, self.table, *self.window)
        return LoadResult(
            rows_staged=row["rows_staged"] or 0,
            rows_inserted=row["rows_inserted"] or 0,
            rows_updated=row["rows_updated"] or 0,
            rows_deleted=row["rows_deleted"] or 0,
            rows_in_window=in_window,
            strategy=row["strategy"],
            keys=[key for key in (row["keys"] or "").split(", ") if key],
            load_id=row["load_id"],
            rows_superseded=row["rows_superseded"] or 0,
            already_loaded=True,
        )

    def run(self, staged: StagedWindow | None = None) -> LoadResult:
        self.cursor = self.connection.cursor()
        try:
            with contextlib.ExitStack() as cleanup:
                self._start_ledger()
                self._refuse_unusable_request()
                if staged is None:
                    folder = cleanup.enter_context(tempfile.TemporaryDirectory(prefix=".load-", dir=self.request.parquet_path.parent))
                    files: LoadFiles | StagedWindow = _prepare(self.request, Path(folder), self.window)
                else:
                    files, self.staging = staged, staged.relation
                self._fingerprint_appended_rows()
                if files.rows == 0 and not self.request.load_empty:
                    return self._skip(files, "the window has no rows, so nothing was loaded and the table is unchanged")
                if earlier := self._same_rows_already_appended():
                    return self._skip(
                        files,
                        f"run {earlier['run_id']} already appended these same rows to the window, so they were not "
                        f"appended again",
                    )
                return self._load(files, staged is not None)
        except WarehouseError as error:
            self._record_failure(error)
            raise
        finally:
            self._clean_up()
            self.cursor.close()

    def _refuse_unusable_request(self) -> None:
        if self.request.strategy not in STRATEGIES:
            raise PermanentWarehouseError(
                f"Unknown load strategy {self.request.strategy!r} for {self.table}; use one of {', '.join(STRATEGIES)}."
            )
        if self.request.strategy == "merge" and not self.request.keys:
            raise PermanentWarehouseError(
                f"The merge load of {self.table} needs keys; set load.keys or use strategy replace_window."
            )

    def _start_ledger(self) -> None:
        if self.ledger is None or self.load_id is not None:
            return
        self.load_id = self.ledger.start_all([ledger_attempt(self.request)])[0]

    def _fingerprint_appended_rows(self) -> None:
        """Appends alone need to know whether the same rows went in before; hashing a big window costs seconds."""
        if self.ledger is None or self.request.strategy != "append":
            return
        try:
            self.content_hash = content_fingerprint(self.request.parquet_path, self.request.excluded_rows)
        except (duckdb.Error, StaleExcludedRows) as exc:
            raise PermanentWarehouseError(
                f"Cannot read {self.request.parquet_path} to load window {self.request.window_key} ({exc}); "
                f"rerun its transform."
            ) from exc
        self.ledger.update(self.load_id, "pending", content_hash=self.content_hash)

    def _same_rows_already_appended(self) -> dict | None:
        if self.ledger is None or self.request.strategy != "append":
            return None
        return self.ledger.uploaded(self.dataset, self.table, self.request.window_key, content_hash=self.content_hash)

    def _skip(self, files: LoadFiles | StagedWindow, reason: str) -> LoadResult:
        if self.ledger is not None:
            self.ledger.finish(self.load_id, "skipped", rows_staged=files.rows, error=reason)
        return LoadResult(0, 0, 0, 0, 0, self.request.strategy, list(self.request.keys), load_id=self.load_id, skipped=reason)

    def _load(self, files: LoadFiles | StagedWindow, staged: bool) -> LoadResult:
        request = self.request
        target_schema = files.schema.remove(files.schema.get_field_index(STAGED_ROW))
        missing = [key for key in request.keys if key not in target_schema.names]
        if missing:
            raise PermanentWarehouseError(
                f"Load keys {missing} of {self.table} are not columns of {request.parquet_path.name}; fix load.keys."
            )
        if request.sequence_by and request.sequence_by not in target_schema.names:
            raise PermanentWarehouseError(
                f"load.sequence_by {request.sequence_by!r} of {self.table} is not a column of "
                f"{request.parquet_path.name}; name one of its columns, or remove load.sequence_by."
            )
        try:
            self._step("ensure_target", "syncing the table schema")
            changes = ensure_target(self.cursor, self.database, self.schema, self.table, target_schema, self.target_columns)
            facts = files.key_facts if staged else self._new_table_key_facts(files, changes.created)
            # a range's window reads its staging table's slice; a new table's own window can skip the staging table
            copy_straight = not staged and facts is not None and facts.staged_keys == files.rows and not facts.null_rows and not files.json_columns
            # a window staged with its range has no upload of its own
            if not staged:
                # COPY INTO resolves the staging table in the current schema on the emulator
                self.cursor.execute(f"USE SCHEMA {qualified_name(self.database, self.schema)}")
                if self.ledger is not None:
                    self.ledger.update(self.load_id, "uploading")
                if copy_straight:
                    self._put_rows(files)
                else:
                    self._stage_rows(files)
            plan = StrategyPlan(
                self.target, self.staging, target_schema.names, list(request.keys), self.window, request.run_id,
                files.rows, files.json_columns, request.sequence_by,
                copy_sql=copy_statement(self.target, self.stage_prefix) if copy_straight else None,
            )  # fmt: skip
            if request.strategy == "merge":
                plan = refuse_null_keys(self.cursor, plan, self.table, facts)
            self.step = f"applying the {request.strategy} strategy"
            counts = apply_in_transaction(self.cursor, plan, request.strategy, self.progress, self._record_outcome(files))
        except (sf_errors.Error, OSError) as exc:
            self.unreachable = is_unreachable(exc)
            raise classify(
                exc,
                f"Loading window {request.window_key} into {self.database}.{self.schema}.{self.table}",
                during=self.step,
                outcome=UNCHANGED,
            ) from exc
        self.files_left = False  # the COPY purged them, straight into the table or into the staging table
        return LoadResult(
            rows_staged=files.rows,
            rows_inserted=counts.inserted,
            rows_updated=counts.updated,
            rows_deleted=counts.deleted,
            rows_in_window=counts.in_window,
            strategy=request.strategy,
            keys=list(request.keys),
            schema_changes=changes,
            load_id=self.load_id,
            rows_superseded=counts.superseded,
            rows_taken_from=counts.taken_from,
            rows_written_by_run=counts.written_by_run,
            # counted in the window's own file, not in what was staged: the reconciliation may rely on it
            distinct_keys=None if staged or facts is None else facts.staged_keys,
        )

    def _record_outcome(self, files: LoadFiles | StagedWindow) -> Callable[[StrategyCounts, str], bool]:
        """The ledger's `uploaded` row, written inside the load's transaction so it commits with the rows; True when
        the write found the transaction open (the ledger matches its row only inside it)."""

        def record(counts: StrategyCounts, transaction: str) -> bool:
            if self.ledger is None:
                return False
            return self.ledger.finish(
                self.load_id, "uploaded", in_transaction=transaction, rows_staged=files.rows, rows_inserted=counts.inserted,
                rows_updated=counts.updated, rows_deleted=counts.deleted, rows_superseded=counts.superseded,
            )  # fmt: skip

        return record

    def _record_failure(self, error: WarehouseError) -> None:
        if self.ledger is None or self.load_id is None or self.unreachable or is_unreachable(error.__cause__):
            return
        with contextlib.suppress(WarehouseError):
            self.ledger.finish(self.load_id, "failed", error=str(error))

    def _step(self, name: str, description: str) -> None:
        self.step = description
        self.progress(name)

    def _new_table_key_facts(self, files: LoadFiles, created: bool) -> KeyFacts | None:
        """For a merge into the table this load just created (empty, so no key is contested), its staged keys'
        NULLs and distinct count, counted here in the rows to load instead of in a staging table."""
        if self.request.strategy != "merge" or not created or not files.rows:
            return None
        self.step = "counting the window's keys"
        try:
            nulls, distinct = source_key_facts(self.request.parquet_path, self.request.excluded_rows, self.request.keys)
        except (duckdb.Error, StaleExcludedRows) as exc:
            raise PermanentWarehouseError(f"Cannot count the keys of window {self.request.window_key} ({exc}); rerun its transform.") from exc
        return KeyFacts(nulls, distinct, contested=False)

    def _put_rows(self, files: LoadFiles) -> None:
        """PUT the part files for a COPY straight into the table inside the transaction."""
        self.step = "uploading the rows to the stage"
        self.files_left = True
        put_files(self.cursor, self.stage, self.stage_prefix, files, self.progress)

    def _stage_rows(self, files: LoadFiles) -> None:
        """PUT the part files and COPY them into a fresh staging table shaped like the load files."""
        self.step = "staging the rows"
        self.staged = True
        create_staging_table(self.cursor, self.staging, files)
        if files.rows == 0:
            return
        self.step = "uploading the rows to the stage"
        self.files_left = True
        put_files(self.cursor, self.stage, self.stage_prefix, files, self.progress)
        self.step = "copying the rows into the staging table"
        copy_into(self.cursor, self.staging, self.stage_prefix, files, self.table, self.progress)
        self.files_left = False

    def _clean_up(self) -> None:
        """Drop the staging table, and the staged files a failed COPY left (PURGE removes loaded ones)."""
        if self.unreachable or not (self.staged or self.files_left):
            # the next attempt of this window replaces the staging table; waiting on a dead connection helps nobody
            return
        self.progress("cleanup")
        drop_staging(self.cursor, self.staging if self.staged else None, self.stage_prefix if self.files_left else None)


def ledger_attempt(request: LoadRequest) -> Attempt:
    """The ledger's record of a load of `request`: its dataset (the table's name by default) and window."""
    table = object_name(request.table)
    return Attempt(
        request.dataset or table.lower(), table, request.window_key, request.window_start, request.window_end,
        request.run_id, request.strategy, tuple(request.keys),
    )  # fmt: skip


def _prepare(request: LoadRequest, folder: Path, window: tuple[dt.datetime, dt.datetime]) -> LoadFiles:
    try:
        return write_load_files(request.parquet_path, folder, window, request.run_id, excluded=request.excluded_rows)
    except (OSError, pa.ArrowException, duckdb.Error, StaleExcludedRows) as exc:
        raise PermanentWarehouseError(
            f"Cannot read {request.parquet_path} to load window {request.window_key} ({exc}); rerun its transform."
        ) from exc
