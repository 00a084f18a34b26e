"""The four load strategies as SQL from a staging table, run and verified inside one BEGIN/COMMIT."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from snowflake.connector import errors as sf_errors

from etl_assets.warehouse.errors import PermanentWarehouseError, TransientWarehouseError, is_unreachable
from etl_assets.warehouse.identifiers import quote_identifier

WINDOW_START = "time_window_start"
WINDOW_END = "time_window_end"
RUN_ID = "_run_id"
# staging only: the row's position in the file, so the latest of duplicate keys wins a merge
STAGED_ROW = "_staged_row"
LINEAGE_ORDER = ("_arrived_at", "_source_file", "_source_row")
IN_WINDOW = f'"{WINDOW_START}" = %s AND "{WINDOW_END}" = %s'

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StrategyPlan:
    """The names and values the strategy SQL is built from."""

    target: str
    staging: str
    columns: list[str]
    keys: list[str]
    window: tuple[dt.datetime, dt.datetime]
    run_id: str
    rows_staged: int


@dataclass(frozen=True)
class StrategyCounts:
    """What the strategy did, and how many rows the window holds after it."""

    inserted: int
    updated: int
    deleted: int
    in_window: int


def apply_in_transaction(cursor, plan: StrategyPlan, strategy: str, progress: Progress) -> StrategyCounts:
    """Run the strategy and verify its counts inside BEGIN/COMMIT; roll back on any error."""
    progress("begin")
    cursor.execute("BEGIN")
    try:
        window_before = rows_in_window(cursor, plan)
        progress("strategy")
        inserted, updated, deleted = STRATEGY_SQL[strategy](cursor, plan)
        progress("verify")
        window_after = rows_in_window(cursor, plan)
        _verify(cursor, plan, strategy, (inserted, updated, deleted, window_before, window_after))
        progress("commit")
        cursor.execute("COMMIT")
    except BaseException as exc:
        # an unreachable warehouse has no transaction left to roll back; asking would only wait for a timeout
        if not is_unreachable(exc):
            # a failed ROLLBACK must not hide the error that caused it
            with contextlib.suppress(sf_errors.Error):
                cursor.execute("ROLLBACK")
        raise
    return StrategyCounts(inserted, updated, deleted, window_after)


def refuse_null_keys(cursor, plan: StrategyPlan, table: str) -> None:
    """A NULL key never matches in MERGE, so its row would be inserted again on every rerun."""
    condition = " OR ".join(f"{quote_identifier(key)} IS NULL" for key in plan.keys)
    nulls = count(cursor, f"SELECT COUNT(*) FROM {plan.staging} WHERE {condition}")
    if nulls:
        raise PermanentWarehouseError(
            f"{nulls} rows of {table} have no value in merge keys {plan.keys}; "
            f"add a not_null quality rule on them or choose other load.keys."
        )


def _append(cursor, plan: StrategyPlan) -> tuple[int, int, int]:
    # a retry of the same run replaces its own earlier rows of the window, so only a new run adds rows
    cursor.execute(f'DELETE FROM {plan.target} WHERE {IN_WINDOW} AND "{RUN_ID}" = %s', (*plan.window, plan.run_id))
    deleted = cursor.rowcount or 0
    return _insert_from_staging(cursor, plan), 0, deleted


def _replace_window(cursor, plan: StrategyPlan) -> tuple[int, int, int]:
    cursor.execute(f"DELETE FROM {plan.target} WHERE {IN_WINDOW}", plan.window)
    deleted = cursor.rowcount or 0
    return _insert_from_staging(cursor, plan), 0, deleted


def _truncate_insert(cursor, plan: StrategyPlan) -> tuple[int, int, int]:
    # DELETE, not TRUNCATE: it is transactional everywhere and reports the rows it removed
    cursor.execute(f"DELETE FROM {plan.target}")
    deleted = cursor.rowcount or 0
    return _insert_from_staging(cursor, plan), 0, deleted


def _merge(cursor, plan: StrategyPlan) -> tuple[int, int, int]:
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


def _insert_from_staging(cursor, plan: StrategyPlan) -> int:
    columns = ", ".join(quote_identifier(c) for c in plan.columns)
    cursor.execute(f"INSERT INTO {plan.target} ({columns}) SELECT {columns} FROM {plan.staging}")
    return cursor.rowcount or 0


def _verify(cursor, plan: StrategyPlan, strategy: str, counts: tuple[int, int, int, int, int]) -> None:
    """Refuse to commit when the table does not hold what the strategy implies."""
    inserted, updated, deleted, window_before, window_after = counts
    if strategy == "merge":
        keys = ", ".join(quote_identifier(key) for key in plan.keys)
        expected = count(cursor, f"SELECT COUNT(*) FROM (SELECT 1 FROM {plan.staging} GROUP BY {keys})")
        actual, what = inserted + updated, "rows merged"
    elif strategy == "truncate_insert":
        actual = count(cursor, f"SELECT COUNT(*) FROM {plan.target}")
        expected, what = plan.rows_staged, "rows in the table"
    elif strategy == "append":
        expected, actual, what = window_before - deleted + plan.rows_staged, window_after, "rows in the window"
    else:
        expected, actual, what = plan.rows_staged, window_after, "rows in the window"
    if actual != expected or (strategy != "merge" and inserted != plan.rows_staged):
        raise TransientWarehouseError(
            f"The {strategy} load expected {expected} {what} but found {actual} ({inserted} inserted), perhaps "
            f"because another load wrote the table at the same time; it was rolled back, so rerun the window."
        )


def rows_in_window(cursor, plan: StrategyPlan) -> int:
    return count(cursor, f"SELECT COUNT(*) FROM {plan.target} WHERE {IN_WINDOW}", plan.window)


def count(cursor, sql: str, params: tuple | None = None) -> int:
    cursor.execute(sql, params)
    return int(cursor.fetchone()[0])
