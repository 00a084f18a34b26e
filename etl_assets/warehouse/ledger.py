"""The load ledger: one row per window per attempt in ETL_ASSETS_LOADS.

An attempt's row is written when it starts, outside the load's transaction, with the session it runs in; its outcome
(`uploaded` and the counts) is written inside the load's transaction, so the ledger and the rows commit together.
A row left `pending` or `uploading` therefore belongs to an attempt that changed nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

from snowflake.connector import errors as sf_errors

from etl_assets.config.columns import LEDGER_TABLE
from etl_assets.errors import WarehouseError
from etl_assets.warehouse.ddl import existing_columns
from etl_assets.warehouse.errors import classify
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.identifiers import object_name
from etl_assets.warehouse.model import as_utc
from etl_assets.warehouse.sessions import abort_transactions_of, current_session

# expired: the retention job deleted the window; erased: a subject's rows were erased (docs/architecture.md §8)
Status = Literal["pending", "uploading", "uploaded", "failed", "skipped", "blocked", "expired", "erased"]
STATUSES: tuple[str, ...] = get_args(Status)
UNFINISHED = ("pending", "uploading")
T = TypeVar("T")
# upper-case names, so people can query the ledger without quoting its columns
COLUMNS = {
    "LOAD_ID": "VARCHAR",
    "DATASET": "VARCHAR",
    "TABLE_NAME": "VARCHAR",
    "WINDOW_KEY": "VARCHAR",
    "WINDOW_START": "TIMESTAMP_TZ",
    "WINDOW_END": "TIMESTAMP_TZ",
    "RUN_ID": "VARCHAR",
    "STRATEGY": "VARCHAR",
    "KEYS": "VARCHAR",
    "ATTEMPT": "NUMBER(10,0)",
    "STATUS": "VARCHAR",
    "ROWS_STAGED": "NUMBER(38,0)",
    "ROWS_INSERTED": "NUMBER(38,0)",
    "ROWS_UPDATED": "NUMBER(38,0)",
    "ROWS_DELETED": "NUMBER(38,0)",
    "ERROR": "VARCHAR",
    "STARTED_AT": "TIMESTAMP_TZ",
    "FINISHED_AT": "TIMESTAMP_TZ",
    # added later: a ledger created before them gets them on first use
    "SESSION_ID": "VARCHAR",
    "CONTENT_HASH": "VARCHAR",
    "ROWS_SUPERSEDED": "NUMBER(38,0)",
    # who asked for a deletion (the retention job or a person's login), and what it removed; never a subject's value
    "ACTOR": "VARCHAR",
    "DETAIL": "VARCHAR",
}
UPDATABLE = {"rows_staged", "rows_inserted", "rows_updated", "rows_deleted", "rows_superseded", "content_hash", "error"}
ABANDONED = (
    "This attempt stopped before it finished (its process or the warehouse went away) and changed nothing; "
    "a later attempt aborted what it left open and took over the window."
)


@dataclass(frozen=True)
class Attempt:
    """One window's load attempt as the ledger records it when it starts."""

    dataset: str
    table_name: str
    window_key: str
    window_start: dt.datetime
    window_end: dt.datetime
    run_id: str
    strategy: str
    keys: tuple[str, ...] = ()


class LoadLedger:
    """ETL_ASSETS_LOADS in one database and schema; a call joins the connection's transaction when one is open."""

    def __init__(self, connection, database: str, schema: str):
        self.connection = connection
        self.database, self.schema = object_name(database), object_name(schema)
        self.table = qualified_name(self.database, self.schema, LEDGER_TABLE)
        self._ready = False
        self._session: str | None = None

    def start(
        self,
        *,
        dataset: str,
        table_name: str,
        window_key: str,
        window_start: dt.datetime,
        window_end: dt.datetime,
        run_id: str,
        strategy: str,
        keys: Sequence[str] = (),
    ) -> str:
        """Record a new attempt as `pending` and return its load_id.

        Earlier unfinished attempts of the window get their open transactions aborted (a dead client's transaction
        would hold its locks) and become `failed`: their outcome would have committed with their rows.
        """
        attempt = Attempt(dataset, table_name, window_key, window_start, window_end, run_id, strategy, tuple(keys))
        return self.start_all([attempt])[0]

    def start_all(self, attempts: Sequence[Attempt]) -> list[str]:
        """`start` for the windows of one table and run at once, in one look and one INSERT: their load_ids, in order.

        A range starts its windows' attempts together; those it never reaches are ended by `abandon`, or, when the
        process died, by the next attempt's take-over.
        """
        first = _one_run(attempts, "starts attempts together", "start them one by one")
        session = self.session()
        earlier = self._take_over_unfinished(first, [attempt.window_key for attempt in attempts], session)
        load_ids, rows = [], []
        for attempt in attempts:
            load_ids.append(str(uuid.uuid4()))
            rows.append((
                load_ids[-1], attempt.dataset, attempt.table_name, attempt.window_key, as_utc(attempt.window_start),
                as_utc(attempt.window_end), attempt.run_id, attempt.strategy, ", ".join(attempt.keys),
                earlier.get(attempt.window_key, 0) + 1, "pending", _now(), session,
            ))  # fmt: skip
        self._insert(("LOAD_ID", "DATASET", "TABLE_NAME", "WINDOW_KEY", "WINDOW_START", "WINDOW_END", "RUN_ID", "STRATEGY",
                      "KEYS", "ATTEMPT", "STATUS", "STARTED_AT", "SESSION_ID"), rows)  # fmt: skip
        return load_ids

    def abandon(self, load_ids: Sequence[str], error: str) -> None:
        """Mark attempts started together but never reached `failed`, with `error` saying why, in one UPDATE."""
        if load_ids:
            self._execute(
                f"UPDATE {self.table} SET {_column('STATUS')} = 'failed', {_column('ERROR')} = %s, {_column('FINISHED_AT')} = %s "
                f"WHERE {_column('LOAD_ID')} IN ({', '.join(['%s'] * len(load_ids))})",
                (error, _now(), *load_ids),
            )

    def session(self) -> str:
        """The connection's session id, asked once: a connection keeps its session."""
        if self._session is None:
            self._session = self._call(current_session)
        return self._session

    def _take_over_unfinished(self, attempt: Attempt, window_keys: Sequence[str], session: str) -> dict[str, int]:
        """Abort what earlier unfinished attempts of the windows left open, mark them `failed`; count the run's
        attempts of each window.

        One look at the windows' attempts serves both; the UPDATE runs only when some attempt is unfinished.
        """
        matches = f"{_column('DATASET')} = %s AND {_column('TABLE_NAME')} = %s AND {_column('WINDOW_KEY')} IN ({', '.join(['%s'] * len(window_keys))})"
        params = (attempt.dataset, attempt.table_name, *window_keys)
        found = self._execute(
            f"SELECT {_column('WINDOW_KEY')}, {_column('STATUS')}, {_column('SESSION_ID')}, {_column('RUN_ID')} "
            f"FROM {self.table} WHERE {matches}",
            params,
        ).fetchall()
        attempts = Counter(key for key, _, _, attempt_run in found if attempt_run == attempt.run_id)
        unfinished = [attempt_session for _, status, attempt_session, _ in found if status in UNFINISHED]
        if not unfinished:
            return attempts
        self._call(abort_transactions_of, set(unfinished) - {session})
        still_open = matches + f" AND {_column('STATUS')} IN ({', '.join(['%s'] * len(UNFINISHED))})"
        self._execute(
            f"UPDATE {self.table} SET {_column('STATUS')} = 'failed', {_column('ERROR')} = %s, "
            f"{_column('FINISHED_AT')} = %s WHERE {still_open}",
            (ABANDONED, _now(), *params, *UNFINISHED),
        )
        return attempts

    def update(self, load_id: str, status: Status, **fields: Any) -> None:
        """Set the attempt's status and any of rows_staged, rows_inserted, rows_updated, rows_deleted, error."""
        self._set(load_id, status, fields)

    def finish(self, load_id: str, status: Status, in_transaction: str | None = None, **fields: Any) -> bool:
        """Like `update`, and stamp finished_at: for uploaded, failed, skipped or blocked.

        With `in_transaction`, the row is written only while that transaction is the session's open one: a load's
        outcome must commit with its rows, never on its own after SYSTEM$ABORT_TRANSACTION ended them. Says
        whether the row was written.
        """
        return self._set(load_id, status, {**fields, "finished_at": _now()}, in_transaction) > 0

    def uploaded(self, dataset: str, table_name: str, window_key: str, **match: str) -> dict[str, Any] | None:
        """The newest `uploaded` attempt of the window whose columns equal `match` (e.g. run_id, content_hash)."""
        conditions = {"DATASET": dataset, "TABLE_NAME": table_name, "WINDOW_KEY": window_key, "STATUS": "uploaded"}
        conditions |= {name.upper(): value for name, value in match.items()}
        where = " AND ".join(f"{_column(name)} = %s" for name in conditions)
        cursor = self._execute(
            f"SELECT {', '.join(map(_column, COLUMNS))} FROM {self.table} WHERE {where} "
            f"ORDER BY {_column('FINISHED_AT')} DESC LIMIT 1",
            tuple(conditions.values()),
        )
        row = cursor.fetchone()
        return _as_entry(row) if row else None

    def windows_uploaded(self, dataset: str, table_name: str, run_id: str) -> set[str]:
        """The keys of the windows this run already loaded (its earlier attempts), in one query."""
        cursor = self._execute(
            f"SELECT DISTINCT {_column('WINDOW_KEY')} FROM {self.table} WHERE {_column('DATASET')} = %s "
            f"AND {_column('TABLE_NAME')} = %s AND {_column('RUN_ID')} = %s AND {_column('STATUS')} = 'uploaded'",
            (dataset, table_name, run_id),
        )
        return {key for (key,) in cursor.fetchall()}

    def run_outcomes(self, dataset: str, table_name: str, run_id: str) -> dict[str, tuple[str, str | None]]:
        """Each window's (status, error) in this run's newest attempt of it, for the windows the run has rows for."""
        cursor = self._execute(
            f"SELECT {_column('WINDOW_KEY')}, {_column('STATUS')}, {_column('ERROR')} FROM {self.table} "
            f"WHERE {_column('DATASET')} = %s AND {_column('TABLE_NAME')} = %s AND {_column('RUN_ID')} = %s "
            f"ORDER BY {_column('ATTEMPT')}, {_column('STARTED_AT')}",
            (dataset, table_name, run_id),
        )
        return {key: (status, error) for key, status, error in cursor.fetchall()}

    def record_failed(self, attempts: Sequence[Attempt], error: str) -> list[str]:
        """A finished `failed` row, with `error`, for each window of `attempts` (one dataset, table and run) that
        the run has no row for yet; the keys of the windows written, in order.

        For a run that failed before its load step reached a window; a window the run already has a row for keeps
        it, so calling this again for the same run writes nothing.
        """
        if not attempts:
            return []
        first = _one_run(attempts, "records failures together", "record them one by one")
        present = self.run_outcomes(first.dataset, first.table_name, first.run_id)
        missing = [attempt for attempt in attempts if attempt.window_key not in present]
        if not missing:
            return []
        session, now = self.session(), _now()
        rows = [
            (str(uuid.uuid4()), a.dataset, a.table_name, a.window_key, as_utc(a.window_start), as_utc(a.window_end),
             a.run_id, a.strategy, ", ".join(a.keys), 1, "failed", error, now, now, session)
            for a in missing
        ]  # fmt: skip
        self._insert(("LOAD_ID", "DATASET", "TABLE_NAME", "WINDOW_KEY", "WINDOW_START", "WINDOW_END", "RUN_ID", "STRATEGY",
                      "KEYS", "ATTEMPT", "STATUS", "ERROR", "STARTED_AT", "FINISHED_AT", "SESSION_ID"), rows)  # fmt: skip
        return [attempt.window_key for attempt in missing]

    def record_deletion(
        self,
        *,
        dataset: str,
        table_name: str,
        status: Literal["expired", "erased"],
        rows_deleted: int,
        detail: str,
        actor: str,
        run_id: str,
        window: tuple[str, dt.datetime, dt.datetime] | None = None,
    ) -> str:
        """A finished row for a deletion that is not a load: a window the retention job expired (`window` is its key,
        start and end), or one subject's rows erased from every window (no window). Its load_id.

        `detail` says what was removed where, in counts; it must never hold the values that chose the rows.
        """
        load_id, now = str(uuid.uuid4()), _now()
        key, start, end = window if window is not None else (None, None, None)
        self._insert(
            ("LOAD_ID", "DATASET", "TABLE_NAME", "WINDOW_KEY", "WINDOW_START", "WINDOW_END", "RUN_ID", "ATTEMPT", "STATUS",
             "ROWS_DELETED", "STARTED_AT", "FINISHED_AT", "SESSION_ID", "ACTOR", "DETAIL"),
            [(load_id, dataset, table_name, key, as_utc(start) if start else None, as_utc(end) if end else None, run_id, 1,
              status, rows_deleted, now, now, self.session(), actor, detail)],
        )  # fmt: skip
        return load_id

    def recent(self, dataset: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest attempts first, as dicts with lower-case keys, optionally of one dataset."""
        where, params = (f"WHERE {_column('DATASET')} = %s", (dataset,)) if dataset else ("", ())
        cursor = self._execute(
            f"SELECT {', '.join(map(_column, COLUMNS))} FROM {self.table} {where} "
            f"ORDER BY {_column('STARTED_AT')} DESC, {_column('ATTEMPT')} DESC LIMIT {int(limit)}",
            params,
        )
        return [_as_entry(row) for row in cursor.fetchall()]

    def _set(self, load_id: str, status: str, fields: dict[str, Any], in_transaction: str | None = None) -> int:
        if status not in STATUSES:
            raise WarehouseError(f"Unknown ledger status {status!r}; use one of {', '.join(STATUSES)}.")
        unknown = set(fields) - UPDATABLE - {"finished_at"}
        if unknown:
            raise WarehouseError(f"The ledger has no columns {sorted(unknown)}; use {sorted(UPDATABLE)}.")
        assignments = {"STATUS": status, **{name.upper(): value for name, value in fields.items()}}
        sets = ", ".join(f"{_column(name)} = %s" for name in assignments)
        where, params = f"{_column('LOAD_ID')} = %s", (*assignments.values(), load_id)
        if in_transaction is not None:
            where, params = f"{where} AND CURRENT_TRANSACTION() = %s", (*params, in_transaction)
        return self._execute(f"UPDATE {self.table} SET {sets} WHERE {where}", params).rowcount or 0

    def _insert(self, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        """The rows, each a value per column, in one INSERT."""
        values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
        names = ", ".join(map(_column, columns))
        self._execute(f"INSERT INTO {self.table} ({names}) VALUES {values}", tuple(value for row in rows for value in row))

    def _execute(self, sql: str, params: tuple = ()):
        return self._call(lambda cursor: cursor.execute(sql, params))

    def _call(self, work: Callable[..., T], *args: Any) -> T:
        """`work(cursor, *args)` with the ledger table in place, its warehouse errors made one sentence."""
        try:
            # DDL commits an open transaction in Snowflake, so the table is made ready before any load begins one
            self._ensure_table()
            return work(self.connection.cursor(), *args)
        except sf_errors.Error as exc:
            raise classify(exc, f"Using the load ledger {self.database}.{self.schema}.{LEDGER_TABLE}") from exc

    def _ensure_table(self) -> None:
        if self._ready:
            return
        cursor = self.connection.cursor()
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.database)}")
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified_name(self.database, self.schema)}")
        columns = ", ".join(f"{_column(name)} {sf_type}" for name, sf_type in COLUMNS.items())
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({columns})")
        present = existing_columns(cursor, self.database, self.schema, LEDGER_TABLE)
        for name, sf_type in COLUMNS.items():
            if name not in present:
                cursor.execute(f"ALTER TABLE {self.table} ADD COLUMN {_column(name)} {sf_type}")
        self._ready = True


def _one_run(attempts: Sequence[Attempt], doing: str, instead: str) -> Attempt:
    """The first of `attempts`, once they are all of one dataset, table and run."""
    first = attempts[0]
    if any((a.dataset, a.table_name, a.run_id) != (first.dataset, first.table_name, first.run_id) for a in attempts):
        raise WarehouseError(f"The ledger {doing} only for one dataset, table and run; {instead}.")
    return first


def _as_entry(row: Sequence[Any]) -> dict[str, Any]:
    """A ledger row selected in COLUMNS order, keyed by lower-case column name."""
    return dict(zip((name.lower() for name in COLUMNS), row, strict=True))


def _column(name: str) -> str:
    return quote_identifier(name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
