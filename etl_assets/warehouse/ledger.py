"""The load ledger: one row per window per attempt in ETL_ASSETS_LOADS, written outside the load's transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, Literal, get_args

from snowflake.connector import errors as sf_errors

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.errors import classify
from etl_assets.warehouse.identifiers import object_name, qualified_name, quote_identifier
from etl_assets.warehouse.reconcile import as_utc

LEDGER_TABLE = "ETL_ASSETS_LOADS"
Status = Literal["pending", "uploading", "uploaded", "failed", "skipped", "blocked"]
STATUSES: tuple[str, ...] = get_args(Status)
UNFINISHED = ("pending", "uploading")
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
}
UPDATABLE = {"rows_staged", "rows_inserted", "rows_updated", "rows_deleted", "error"}
ABANDONED = (
    "This attempt stopped before it finished (its process or the warehouse went away) and changed nothing; "
    "a later attempt took over the window."
)


class LoadLedger:
    """ETL_ASSETS_LOADS in one database and schema; every call is its own autocommitted statement."""

    def __init__(self, connection, database: str, schema: str):
        self.connection = connection
        self.database, self.schema = object_name(database), object_name(schema)
        self.table = qualified_name(self.database, self.schema, LEDGER_TABLE)
        self._ready = False

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
        """Record a new attempt as `pending` and return its load_id; earlier unfinished attempts become `failed`."""
        load_id = str(uuid.uuid4())
        now = _now()
        window = {"DATASET": dataset, "TABLE_NAME": table_name, "WINDOW_KEY": window_key}
        match = " AND ".join(f"{quote_identifier(name)} = %s" for name in window)
        self._execute(
            f"UPDATE {self.table} SET {_column('STATUS')} = 'failed', {_column('ERROR')} = %s, "
            f"{_column('FINISHED_AT')} = %s WHERE {match} AND {_column('STATUS')} IN ('pending', 'uploading')",
            (ABANDONED, now, *window.values()),
        )
        earlier = self._execute(
            f"SELECT COUNT(*) FROM {self.table} WHERE {_column('DATASET')} = %s AND {_column('WINDOW_KEY')} = %s "
            f"AND {_column('RUN_ID')} = %s",
            (dataset, window_key, run_id),
        ).fetchone()[0]
        row = {
            "LOAD_ID": load_id,
            **window,
            "WINDOW_START": as_utc(window_start),
            "WINDOW_END": as_utc(window_end),
            "RUN_ID": run_id,
            "STRATEGY": strategy,
            "KEYS": ", ".join(keys),
            "ATTEMPT": int(earlier) + 1,
            "STATUS": "pending",
            "STARTED_AT": now,
        }
        columns = ", ".join(_column(name) for name in row)
        self._execute(
            f"INSERT INTO {self.table} ({columns}) VALUES ({', '.join(['%s'] * len(row))})", tuple(row.values())
        )
        return load_id

    def update(self, load_id: str, status: Status, **fields: Any) -> None:
        """Set the attempt's status and any of rows_staged, rows_inserted, rows_updated, rows_deleted, error."""
        self._set(load_id, status, fields)

    def finish(self, load_id: str, status: Status, **fields: Any) -> None:
        """Like `update`, and stamp finished_at: for uploaded, failed, skipped or blocked."""
        self._set(load_id, status, {**fields, "finished_at": _now()})

    def recent(self, dataset: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest attempts first, as dicts with lower-case keys, optionally of one dataset."""
        where, params = (f"WHERE {_column('DATASET')} = %s", (dataset,)) if dataset else ("", ())
        cursor = self._execute(
            f"SELECT {', '.join(map(_column, COLUMNS))} FROM {self.table} {where} "
            f"ORDER BY {_column('STARTED_AT')} DESC, {_column('ATTEMPT')} DESC LIMIT {int(limit)}",
            params,
        )
        return [dict(zip((name.lower() for name in COLUMNS), row, strict=True)) for row in cursor.fetchall()]

    def _set(self, load_id: str, status: str, fields: dict[str, Any]) -> None:
        if status not in STATUSES:
            raise WarehouseError(f"Unknown ledger status {status!r}; use one of {', '.join(STATUSES)}.")
        unknown = set(fields) - UPDATABLE - {"finished_at"}
        if unknown:
            raise WarehouseError(f"The ledger has no columns {sorted(unknown)}; use {sorted(UPDATABLE)}.")
        assignments = {"STATUS": status, **{name.upper(): value for name, value in fields.items()}}
        sets = ", ".join(f"{_column(name)} = %s" for name in assignments)
        self._execute(
            f"UPDATE {self.table} SET {sets} WHERE {_column('LOAD_ID')} = %s", (*assignments.values(), load_id)
        )

    def _execute(self, sql: str, params: tuple = ()):
        try:
            self._ensure_table()
            return self.connection.cursor().execute(sql, params)
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
        self._ready = True


def _column(name: str) -> str:
    return quote_identifier(name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
