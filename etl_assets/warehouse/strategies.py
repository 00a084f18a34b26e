"""The four load strategies as SQL from a staging table, run and verified inside one BEGIN/COMMIT."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field


from etl_assets.warehouse.errors import PermanentWarehouseError, TransientWarehouseError, roll_back_after
from etl_assets.config.columns import ARRIVED_AT, RUN_ID, SOURCE_FILE, SOURCE_ROW, STAGED_ROW, WINDOW_END, WINDOW_START
from etl_assets.sql_text import quote_identifier
from etl_assets.warehouse.model import as_utc
from etl_assets.warehouse.sessions import current_transaction

# the newest arrival wins among versions of a row; STAGED_ROW (the row's place in the file) breaks ties
LINEAGE_ORDER = (ARRIVED_AT, SOURCE_FILE, SOURCE_ROW)
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
    # staged as JSON text, stored as VARIANT
    json_columns: frozenset[str] = frozenset()
    # merge: the column whose higher value wins over the window and arrival order
    sequence_by: str | None = None
    # merge: how many distinct keys the staging holds, as refuse_null_keys counted them before the merge
    staged_keys: int | None = None
    # merge: known before the merge that no staged key is in the table, so its rows are all new (KeyFacts)
    uncontested: bool = False
    # merge into a table created by this load, of distinct keys: the COPY INTO the table that loads the staged
    # files straight into it, with no staging table
    copy_sql: str | None = None

    @property
    def recency(self) -> list[str]:
        """Columns that say which of two versions of a row is newer, most significant first."""
        order = [self.sequence_by] if self.sequence_by else []
        return [*order, WINDOW_START, *([ARRIVED_AT] if ARRIVED_AT in self.columns else [])]


@dataclass(frozen=True)
class KeyFacts:
    """What a merge learns of its staged keys before it starts; range_key_facts asks it once for a whole range."""

    null_rows: int
    staged_keys: int
    # some staged key is in the table already, or staged by another window of the range: the merge must compare
    # the versions; otherwise every staged row is new
    contested: bool = True


@dataclass(frozen=True)
class StrategyCounts:
    """What the strategy did, and how many rows the window holds after it."""

    inserted: int
    updated: int
    deleted: int
    in_window: int
    # merge: staged rows left out because the table holds a newer version of them
    superseded: int = 0
    # merge: rows this window took over from other windows, by their window start
    taken_from: dict[dt.datetime, int] = field(default_factory=dict)
    # rows of the window that carry this run's id: every row the load inserted or updated
    written_by_run: int = 0


@dataclass(frozen=True)
class _Applied:
    inserted: int
    updated: int = 0
    deleted: int = 0
    superseded: int = 0
    taken_from: dict[dt.datetime, int] = field(default_factory=dict)


def apply_in_transaction(
    cursor,
    plan: StrategyPlan,
    strategy: str,
    progress: Progress,
    before_commit: Callable[[StrategyCounts, str], bool] = lambda counts, transaction: False,
) -> StrategyCounts:
    """Run the strategy, verify its counts and `before_commit` (the ledger's outcome) inside BEGIN/COMMIT.

    The verify count also reads the transaction's id: NULL there means SYSTEM$ABORT_TRANSACTION ended it and the
    strategy ran on its own, so nothing is recorded. The ledger's outcome must then commit in that same transaction:
    `before_commit(counts, transaction)` says True when its write proved the transaction still open; otherwise
    the transaction is asked once more.
    """
    progress("begin")
    cursor.execute("BEGIN")
    try:
        # only an append's check needs the window's rows before it; counting them costs a statement per window
        window_before = rows_in_window(cursor, plan) if strategy == "append" else 0
        progress("strategy")
        applied = STRATEGY_SQL[strategy](cursor, plan)
        progress("verify")
        window_after, written, transaction = _window_after(cursor, plan)
        if transaction is None:
            raise _aborted(strategy)
        _verify(cursor, plan, strategy, applied, window_before, window_after)
        counts = StrategyCounts(
            applied.inserted, applied.updated, applied.deleted, window_after, applied.superseded, applied.taken_from, written
        )
        progress("record")
        if not before_commit(counts, transaction) and current_transaction(cursor) != transaction:
            raise _aborted(strategy)
        progress("commit")
        cursor.execute("COMMIT")
    except BaseException as exc:
        roll_back_after(cursor, exc)
        raise
    progress("committed")
    return counts


def _window_after(cursor, plan: StrategyPlan) -> tuple[int, int, str | None]:
    """The window's rows, those this run wrote (for the reconciliation) and the open transaction's id, in one look."""
    cursor.execute(
        f'SELECT COUNT(*), COUNT(CASE WHEN "{RUN_ID}" = %s THEN 1 END), CURRENT_TRANSACTION() '
        f"FROM {plan.target} WHERE {IN_WINDOW}",
        (plan.run_id, *plan.window),
    )
    rows, written, transaction = cursor.fetchone()
    return int(rows), int(written), None if transaction is None else str(transaction)


def _aborted(strategy: str) -> TransientWarehouseError:
    """Snowflake runs a session's statements outside any transaction once SYSTEM$ABORT_TRANSACTION ended its own."""
    return TransientWarehouseError(
        f"The transaction of the {strategy} load was aborted before it committed (by SYSTEM$ABORT_TRANSACTION, "
        f"or by a newer attempt of the same window); it changed nothing, so rerun the window if no newer attempt "
        f"loaded it."
    )


def refuse_null_keys(cursor, plan: StrategyPlan, table: str, facts: KeyFacts | None = None) -> StrategyPlan:
    """A NULL key never matches in MERGE, so its row would be inserted again on every rerun.

    The same look counts the staged keys, which the merge's check needs: the plan comes back with `staged_keys`.
    `facts`, when the range asked for them already, spare the look.
    """
    if facts is None:
        cursor.execute(key_counts_sql(plan.keys, plan.staging))
        facts = KeyFacts(*(int(value) for value in cursor.fetchone()))
    if facts.null_rows:
        raise PermanentWarehouseError(
            f"{facts.null_rows} rows of {table} have no value in merge keys {plan.keys}; "
            f"add a not_null quality rule on them or choose other load.keys."
        )
    return dataclasses.replace(plan, staged_keys=facts.staged_keys, uncontested=not facts.contested)


def key_counts_sql(keys: list[str], relation: str) -> str:
    """The SELECT of `relation`'s rows with a NULL key and its distinct keys: in a staging table, or in the load
    files read by a local DuckDB."""
    columns = ", ".join(quote_identifier(key) for key in keys)
    return (
        f"SELECT COALESCE(SUM(CASE WHEN {_any_null(keys)} THEN n END), 0), COUNT(*) "
        f"FROM (SELECT {columns}, COUNT(*) AS n FROM {relation} GROUP BY {columns})"
    )


def range_key_facts(cursor, staging: str, keys: list[str], target: str | None) -> dict[dt.datetime, KeyFacts]:
    """refuse_null_keys's look and whether the merge must compare versions, for every window of a range's staging
    table in one query, by window start. `target` is None when the table does not exist or lacks a key column:
    none of its rows can match a staged key then."""
    columns = [quote_identifier(key) for key in keys]
    start = quote_identifier(WINDOW_START)
    in_table, joined = "FALSE", ""
    if target is not None:
        in_table = f"t.{columns[0]} IS NOT NULL"
        joined = f" LEFT JOIN (SELECT DISTINCT {', '.join(columns)} FROM {target}) AS t ON " + " AND ".join(
            f"t.{c} = s.{c}" for c in columns
        )
    cursor.execute(
        f"SELECT window_start, COUNT(*), SUM(null_rows), COUNT_IF(windows > 1 OR in_table) FROM ("
        f"SELECT s.window_start, s.null_rows, {in_table} AS in_table, "
        f"COUNT(*) OVER (PARTITION BY {', '.join('s.' + c for c in columns)}) AS windows "
        f"FROM (SELECT {start} AS window_start, {', '.join(columns)}, COUNT_IF({_any_null(keys)}) AS null_rows "
        f"FROM {staging} GROUP BY {start}, {', '.join(columns)}) AS s{joined}) GROUP BY window_start"
    )
    return {
        as_utc(moment): KeyFacts(int(nulls), int(groups), int(contested) > 0)
        for moment, groups, nulls, contested in cursor.fetchall()
    }


def _any_null(keys: list[str]) -> str:
    return " OR ".join(f"{quote_identifier(key)} IS NULL" for key in keys)


def _append(cursor, plan: StrategyPlan) -> _Applied:
    # a retry of the same run replaces its own earlier rows of the window, so only a new run adds rows
    cursor.execute(f'DELETE FROM {plan.target} WHERE {IN_WINDOW} AND "{RUN_ID}" = %s', (*plan.window, plan.run_id))
    deleted = cursor.rowcount or 0
    return _Applied(_insert_from_staging(cursor, plan), deleted=deleted)


def _replace_window(cursor, plan: StrategyPlan) -> _Applied:
    cursor.execute(f"DELETE FROM {plan.target} WHERE {IN_WINDOW}", plan.window)
    deleted = cursor.rowcount or 0
    return _Applied(_insert_from_staging(cursor, plan), deleted=deleted)


def _truncate_insert(cursor, plan: StrategyPlan) -> _Applied:
    # DELETE, not TRUNCATE: it is transactional everywhere and reports the rows it removed
    cursor.execute(f"DELETE FROM {plan.target}")
    deleted = cursor.rowcount or 0
    return _Applied(_insert_from_staging(cursor, plan), deleted=deleted)


def _merge(cursor, plan: StrategyPlan) -> _Applied:
    """MERGE the newest staged row of each key; a table row of the same key that is newer is left as it is.

    Without this guard a late file rerunning an old window would put old values back over a newer window's rows.
    When no staged key is in the table yet (a first load, or a backfill's new days) the MERGE could only insert,
    so the rows are inserted: the same rows for a fraction of the work. A range asked that for all its windows at
    once (`plan.uncontested`); a lone window asks it here. Into a table this load created, distinct keys are
    copied straight from the stage (`plan.copy_sql`): the staging table would be a second pass over every row. Loads of one table never overlap (one
    run per dataset, and the ledger ends a dead attempt's transaction first), so no key arrives in between.
    """
    if plan.copy_sql and plan.uncontested and plan.staged_keys == plan.rows_staged:
        cursor.execute(plan.copy_sql)
        # a COPY result row per file: file, status, rows parsed, rows loaded, ...
        return _Applied(sum(int(row[3]) for row in cursor.fetchall()))
    keys = [quote_identifier(key) for key in plan.keys]
    columns = [quote_identifier(c) for c in plan.columns]
    updates = [quote_identifier(c) for c in plan.columns if c not in plan.keys]
    newest = _newest_staged_per_key(plan)
    source = f"({newest}) AS s"
    matches = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    not_older = _not_older(plan.recency)
    matched, superseded, taken_from = 0, 0, {}
    if not plan.uncontested:
        matched, superseded, taken_from = _matches_by_recency(cursor, plan, source, matches, not_older)
    if not matched:
        cursor.execute(f"INSERT INTO {plan.target} ({', '.join(columns)}) {newest}")
        return _Applied(cursor.rowcount or 0)
    cursor.execute(
        f"MERGE INTO {plan.target} AS t USING {source} ON {matches} "
        f"WHEN MATCHED AND {not_older} THEN UPDATE SET {', '.join(f't.{c} = s.{c}' for c in updates)} "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({', '.join('s.' + c for c in columns)})"
    )
    inserted, updated = cursor.fetchone()[:2]
    return _Applied(int(inserted), int(updated), superseded=superseded, taken_from=taken_from)


def _newest_staged_per_key(plan: StrategyPlan) -> str:
    """The staged rows, one per key: the newest; staging whose keys are all distinct is read as it is."""
    if plan.staged_keys == plan.rows_staged:
        return f"SELECT {_staged_values(plan)} FROM {plan.staging}"
    keys = ", ".join(quote_identifier(key) for key in plan.keys)
    newest_first = [c for c in (*LINEAGE_ORDER, STAGED_ROW) if c in (*plan.columns, STAGED_ROW)]
    if plan.sequence_by:
        newest_first.insert(0, plan.sequence_by)
    # NULLS LAST spelled out: Snowflake sorts NULLs first in descending order, DuckDB last
    order = ", ".join(f"{quote_identifier(c)} DESC NULLS LAST" for c in newest_first)
    return (
        f"SELECT {_staged_values(plan)} FROM {plan.staging} "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {order}) = 1"
    )


def _not_older(columns: list[str]) -> str:
    """SQL true when staged row `s` is at least as new as table row `t`: compared column by column, NULL oldest."""
    if not columns:
        return "TRUE"
    c = quote_identifier(columns[0])
    newer = f"COALESCE(s.{c} > t.{c}, t.{c} IS NULL AND s.{c} IS NOT NULL)"
    return f"({newer} OR (s.{c} IS NOT DISTINCT FROM t.{c} AND {_not_older(columns[1:])}))"


def _matches_by_recency(cursor, plan: StrategyPlan, source: str, matches: str, not_older: str) -> tuple[int, int, dict]:
    """Staged keys already in the table; of them, those whose table row is newer; and per other window the rows
    this merge takes over from it."""
    start = quote_identifier(WINDOW_START)
    cursor.execute(
        f"SELECT t.{start}, COUNT(*), COUNT_IF(NOT {not_older}), COUNT_IF({not_older} AND t.{start} <> s.{start}) "
        f"FROM {source} JOIN {plan.target} AS t ON {matches} GROUP BY t.{start}"
    )
    rows = cursor.fetchall()
    matched = sum(int(found) for _, found, _, _ in rows)
    return matched, sum(int(kept) for _, _, kept, _ in rows), {moment: int(taken) for moment, _, _, taken in rows if taken}


STRATEGY_SQL: dict[str, Callable[..., _Applied]] = {
    "append": _append,
    "merge": _merge,
    "truncate_insert": _truncate_insert,
    "replace_window": _replace_window,
}


def _staged_values(plan: StrategyPlan) -> str:
    """The staged columns as the target stores them: JSON text parsed into VARIANT."""
    values = []
    for name in plan.columns:
        column = quote_identifier(name)
        values.append(f"PARSE_JSON({column}) AS {column}" if name in plan.json_columns else column)
    return ", ".join(values)


def _insert_from_staging(cursor, plan: StrategyPlan) -> int:
    columns = ", ".join(quote_identifier(c) for c in plan.columns)
    cursor.execute(f"INSERT INTO {plan.target} ({columns}) SELECT {_staged_values(plan)} FROM {plan.staging}")
    return cursor.rowcount or 0


def _verify(cursor, plan: StrategyPlan, strategy: str, applied: _Applied, window_before: int, window_after: int) -> None:
    """Refuse to commit when the table does not hold what the strategy implies."""
    if strategy == "merge":
        expected = plan.staged_keys
        actual, what = applied.inserted + applied.updated + applied.superseded, "keys merged or kept newer"
    elif strategy == "truncate_insert":
        actual = count(cursor, f"SELECT COUNT(*) FROM {plan.target}")
        expected, what = plan.rows_staged, "rows in the table"
    elif strategy == "append":
        expected, actual, what = window_before - applied.deleted + plan.rows_staged, window_after, "rows in the window"
    else:
        expected, actual, what = plan.rows_staged, window_after, "rows in the window"
    if actual != expected or (strategy != "merge" and applied.inserted != plan.rows_staged):
        raise TransientWarehouseError(
            f"The {strategy} load expected {expected} {what} but found {actual} ({applied.inserted} inserted), "
            f"perhaps because another load wrote the table at the same time; it was rolled back, so rerun the window."
        )


def rows_in_window(cursor, plan: StrategyPlan) -> int:
    return count(cursor, f"SELECT COUNT(*) FROM {plan.target} WHERE {IN_WINDOW}", plan.window)


def count(cursor, sql: str, params: tuple | None = None) -> int:
    cursor.execute(sql, params)
    return int(cursor.fetchone()[0])
