"""Every quality rule of one window, evaluated in DuckDB over the window's Parquet in a few scans."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.config.models import (
    AcceptedValuesRule,
    FreshnessRule,
    NotNullRule,
    QualityRule,
    RangeRule,
    ReferencesRule,
    RegexRule,
    RowCountRule,
    SchemaRule,
    UniqueRule,
)
from etl_assets.quality.rules import describe, rule_columns
from etl_assets.quality.schema import schema_mismatches
from etl_assets.quality.sql import comparable_value, literal, quoted, type_family
from etl_assets.quality.validation import regex_problem

LINEAGE_COLUMNS = ("_source_file", "_source_row")
FAILED_RULES_COLUMN = "_failed_rules"
MAX_EXAMPLES = 20
ReferenceData = pa.Table | Path | list[Path]


@dataclass(frozen=True)
class RuleOutcome:
    """One rule's verdict on one window; for window-level rules `failing_count` counts problems, not rows."""

    name: str
    rule_type: str
    severity: str
    action: str
    passed: bool
    failing_count: int
    failing_percent: float
    examples: list[dict[str, Any]]
    description: str
    detail: str


@dataclass(frozen=True)
class WindowQuality:
    """All rules' outcomes for one window, plus which row-level rules each failing row broke."""

    rows_total: int
    outcomes: list[RuleOutcome]
    rows_passing_all: int
    score: float
    # `_row` (the row's position in the Parquet) and one boolean per row-level rule, named by its check.
    failing_rows: pa.Table = field(repr=False)


@dataclass(frozen=True)
class QuarantineResult:
    kept_rows: int
    quarantined_rows: int


@dataclass(frozen=True)
class _RowFlag:
    """How one row-level rule flags a failing row, as a SQL boolean, and what to say when it could not run."""

    sql: str
    problem: str | None = None


@dataclass(frozen=True)
class _Window:
    """The window's Parquet as DuckDB reads it, every column renamed c0, c1, ...

    The queries then never meet a column named like their own names (file_row_number, _row, f0, ...).
    """

    path: Path
    aliases: dict[str, str]
    types: dict[str, str]

    @classmethod
    def read(cls, connection: duckdb.DuckDBPyConnection, path: Path) -> _Window:
        names = pq.read_schema(path).names
        described = connection.execute(f"DESCRIBE SELECT * FROM read_parquet({literal(str(path))})").fetchall()
        aliases = {name: f"c{position}" for position, name in enumerate(names)}
        return cls(path, aliases, {name: row[1] for name, row in zip(names, described, strict=True)})

    @property
    def source(self) -> str:
        return f"read_parquet({literal(str(self.path))}) AS source({', '.join(self.aliases.values())})"

    def column(self, name: str) -> str:
        return self.aliases[name]


def evaluate_window(
    parquet_path: Path,
    rules: Sequence[QualityRule],
    *,
    names: Sequence[str],
    references: Mapping[tuple[str, str], ReferenceData] | None = None,
    now: dt.datetime,
) -> WindowQuality:
    """Outcomes of `rules` (checks named `names`) on one window; `references` maps (dataset, key) to its values.

    A rule that cannot be checked on this window (a bound of the wrong type, unreadable reference data) fails
    with a sentence saying why, and the other rules are evaluated as usual.
    """
    schema = pq.read_schema(parquet_path)
    row_rules = [(index, rule) for index, rule in enumerate(rules) if rule.row_level]
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        window = _Window.read(connection, parquet_path)
        flags = {index: _row_flag(connection, rule, window, index, references or {}) for index, rule in row_rules}
        flags = _create_flags(connection, window, flags)
        any_failure = " OR ".join(f"f{index}" for index, _ in row_rules) or "false"
        counts = [int(count or 0) for count in connection.execute(
            "SELECT count(*), count_if(NOT (" + any_failure + "))"
            + "".join(f", count_if(f{index})" for index, _ in row_rules)
            + " FROM flags"
        ).fetchall()[0]]
        rows_total, rows_passing_all = counts[0], counts[1]
        failing = {index: count for (index, _), count in zip(row_rules, counts[2:], strict=True)}
        examples = _examples(connection, window, rules, failing)
        newest = _newest_values(connection, window, rules)
        flagged = "".join(f", f{index} AS {quoted(names[index])}" for index, _ in row_rules)
        failing_rows = connection.sql(
            f"SELECT _row::BIGINT AS _row{flagged} FROM flags WHERE {any_failure} ORDER BY _row"
        ).to_arrow_table()

    outcomes = []
    for index, rule in enumerate(rules):
        if rule.row_level:
            outcome = _row_outcome(rule, failing[index], rows_total, flags[index].problem)
        else:
            outcome = _window_outcome(rule, rows_total, schema, newest.get(index), now, window.types)
        passed, count, percent, detail = outcome
        outcomes.append(
            RuleOutcome(
                name=names[index],
                rule_type=rule.rule,
                severity=rule.severity,
                action=rule.action,
                passed=passed,
                failing_count=count,
                failing_percent=percent,
                examples=examples.get(index, []),
                description=describe(rule),
                detail=detail,
            )
        )
    score = rows_passing_all / rows_total if rows_total else 1.0
    return WindowQuality(rows_total, outcomes, rows_passing_all, score, failing_rows)


def _create_flags(connection: duckdb.DuckDBPyConnection, window: _Window, flags: dict[int, _RowFlag]) -> dict[int, _RowFlag]:
    """The temp table `flags`; when its query fails on the data, each rule is tried alone and the failing ones set aside."""
    try:
        connection.execute(_flags_statement(window, flags))
        return flags
    except duckdb.Error:
        runnable = {index: _runnable(connection, window, flag) for index, flag in flags.items()}
        connection.execute(_flags_statement(window, runnable))
        return runnable


def _flags_statement(window: _Window, flags: dict[int, _RowFlag]) -> str:
    columns = "".join(f", coalesce({flag.sql}, false) AS f{index}" for index, flag in flags.items())
    return f"CREATE OR REPLACE TEMP TABLE flags AS SELECT file_row_number AS _row{columns} FROM {window.source}"


def _runnable(connection: duckdb.DuckDBPyConnection, window: _Window, flag: _RowFlag) -> _RowFlag:
    try:
        connection.execute(f"SELECT count_if({flag.sql}) FROM {window.source}")
    except duckdb.Error as error:
        return _unevaluable(error)
    return flag


def _unevaluable(error: Exception) -> _RowFlag:
    reason = str(error).strip().split("\n", 1)[0]
    return _RowFlag("false", f"the rule could not be evaluated on this window ({reason}); fix the rule or the data it reads.")


def _row_flag(
    connection: duckdb.DuckDBPyConnection,
    rule: QualityRule,
    window: _Window,
    index: int,
    references: Mapping[tuple[str, str], ReferenceData],
) -> _RowFlag:
    missing = [column for column in rule_columns(rule) if column not in window.aliases]
    if missing:
        return _RowFlag("true", f"column {missing[0]} is not in the window, so every row fails")
    if isinstance(rule, NotNullRule):
        return _RowFlag(f"{window.column(rule.column)} IS NULL")
    if isinstance(rule, UniqueRule):
        # A key with a null part is not a duplicate: not_null rules speak for nulls.
        keys = [window.column(column) for column in rule.key_columns]
        complete = " AND ".join(f"{key} IS NOT NULL" for key in keys)
        return _RowFlag(f"({complete} AND count(*) OVER (PARTITION BY {', '.join(keys)}) > 1)")
    column, column_type = window.column(rule.column), window.types[rule.column]
    if isinstance(rule, RegexRule):
        problem = regex_problem(rule.pattern)
        return _RowFlag("false", problem) if problem else _RowFlag(f"NOT regexp_matches(CAST({column} AS VARCHAR), {literal(rule.pattern)})")
    if isinstance(rule, RangeRule):
        return _range_flag(connection, rule, column, column_type)
    if isinstance(rule, AcceptedValuesRule):
        return _accepted_values_flag(connection, rule, column, column_type)
    assert isinstance(rule, ReferencesRule)
    try:
        return _reference_flag(connection, rule, index, references.get((rule.dataset, rule.key)), column, column_type)
    except duckdb.Error as error:
        return _unevaluable(error)


def _range_flag(connection: duckdb.DuckDBPyConnection, rule: RangeRule, column: str, column_type: str) -> _RowFlag:
    bounds = [(operator, bound) for operator, bound in (("<", rule.min), (">", rule.max)) if bound is not None]
    typed = [comparable_value(connection, "bound", "a range rule", bound, rule.column, column_type) for _, bound in bounds]
    problem = next((problem for _, problem in typed if problem), None)
    comparisons = " OR ".join(f"{column} {operator} {sql}" for (operator, _), (sql, _) in zip(bounds, typed))
    return _RowFlag("false", problem) if problem else _RowFlag(f"({comparisons})")


def _accepted_values_flag(
    connection: duckdb.DuckDBPyConnection, rule: AcceptedValuesRule, column: str, column_type: str
) -> _RowFlag:
    typed = [comparable_value(connection, "value", "an accepted_values rule", value, rule.column, column_type) for value in rule.values]
    problem = next((problem for _, problem in typed if problem), None)
    return _RowFlag("false", problem) if problem else _RowFlag(f"{column} NOT IN ({', '.join(sql for sql, _ in typed)})")


def _reference_flag(
    connection: duckdb.DuckDBPyConnection,
    rule: ReferencesRule,
    index: int,
    data: ReferenceData | None,
    column: str,
    column_type: str,
) -> _RowFlag:
    view = f"reference_{index}"
    files = [data] if isinstance(data, Path) else data
    if data is None or (isinstance(files, list) and not files):
        return _RowFlag(f"{column} IS NOT NULL", f"no data of {rule.dataset} to check against, so every value fails")
    if isinstance(data, pa.Table):
        connection.register(view, data)
    else:
        paths = ", ".join(literal(str(path)) for path in files)
        connection.execute(f"CREATE TEMP VIEW {view} AS SELECT * FROM read_parquet([{paths}], union_by_name = true)")
    key_types = {name: kind for name, kind, *_ in connection.execute(f"DESCRIBE SELECT * FROM {view}").fetchall()}
    if rule.key not in key_types:
        return _RowFlag(f"{column} IS NOT NULL", f"{rule.dataset} has no column {rule.key}, so every value fails")
    key_type = key_types[rule.key]
    if type_family(column_type) != type_family(key_type) or (type_family(key_type) == "other" and column_type != key_type):
        return _RowFlag("false", (
            f"{rule.column} holds {column_type} but {rule.dataset}.{rule.key} holds {key_type}, so they cannot be compared; "
            "give both the same type in transform.columns."
        ))
    key = quoted(rule.key)
    return _RowFlag(f"{column} IS NOT NULL AND {column} NOT IN (SELECT {key} FROM {view} WHERE {key} IS NOT NULL)")


def _examples(
    connection: duckdb.DuckDBPyConnection,
    window: _Window,
    rules: Sequence[QualityRule],
    failing: Mapping[int, int],
) -> dict[int, list[dict[str, Any]]]:
    """Up to MAX_EXAMPLES failing rows per rule, fetched together in one more scan."""
    picked = {
        index: _first_flagged_rows(connection, index) for index, count in failing.items() if count
    }
    wanted = sorted({row for rows in picked.values() for row in rows})
    if not wanted:
        return {}
    shown = {index: [c for c in (*rule_columns(rules[index]), *LINEAGE_COLUMNS) if c in window.aliases] for index in picked}
    columns = list(dict.fromkeys(column for names in shown.values() for column in names))
    selected = "".join(f", {window.column(column)}" for column in columns)
    table = connection.sql(
        f"SELECT file_row_number{selected} FROM {window.source} WHERE file_row_number IN (SELECT unnest(?::BIGINT[]))",
        params=[wanted],
    ).to_arrow_table()
    # read by position: the columns' own names may repeat `file_row_number`
    values = [table.column(position).to_pylist() for position in range(table.num_columns)]
    by_row = {row: dict(zip(columns, row_values)) for row, *row_values in zip(*values)}
    return {
        index: [{column: _json_safe(by_row[row][column]) for column in shown[index]} for row in rows_of_rule]
        for index, rows_of_rule in picked.items()
    }


def _first_flagged_rows(connection: duckdb.DuckDBPyConnection, index: int) -> list[int]:
    query = f"SELECT _row FROM flags WHERE f{index} ORDER BY _row LIMIT {MAX_EXAMPLES}"
    return [row for (row,) in connection.execute(query).fetchall()]


def _newest_values(connection: duckdb.DuckDBPyConnection, window: _Window, rules: Sequence[QualityRule]) -> dict[int, Any]:
    """The newest value of each freshness rule's column, for columns that hold dates or times."""
    fresh = [
        (index, rule) for index, rule in enumerate(rules)
        if isinstance(rule, FreshnessRule) and type_family(window.types.get(rule.column, "")) == "moment"
    ]
    if not fresh:
        return {}
    newest = connection.sql(
        "SELECT " + ", ".join(f"max({window.column(rule.column)})" for _, rule in fresh) + f" FROM {window.source}"
    ).to_arrow_table()
    return {index: newest.column(position)[0].as_py() for position, (index, _) in enumerate(fresh)}


def quarantine_window(
    parquet_path: Path,
    quality: WindowQuality,
    rules: Sequence[QualityRule],
    names: Sequence[str],
    *,
    kept_path: Path,
    quarantine_path: Path,
) -> QuarantineResult:
    """Rows failing an `action: quarantine` rule go to `quarantine_path` with `_failed_rules`; the rest to `kept_path`.

    Rules were evaluated on all rows, so a quarantined row still counts in every rule's outcome. With nothing
    to quarantine, a stale quarantine file from an earlier run of the window is removed.
    """
    table = pq.read_table(parquet_path)
    if table.num_rows != quality.rows_total:
        raise ValueError(f"{parquet_path} has {table.num_rows} rows but was evaluated with {quality.rows_total}")
    quarantining = [
        name for rule, name in zip(rules, names, strict=True) if rule.row_level and rule.action == "quarantine"
    ]
    failed = _failed_rules(quality.failing_rows, quarantining)
    quarantined = np.zeros(table.num_rows, dtype=bool)
    quarantined[failed.column("_row").to_numpy()] = True
    kept = table.filter(pa.array(~quarantined))
    write_parquet_atomically(kept, kept_path)
    if not failed.num_rows:
        quarantine_path.unlink(missing_ok=True)
        return QuarantineResult(kept_rows=kept.num_rows, quarantined_rows=0)
    # Both come in row order, so the failed rules line up with the filtered rows.
    taken = table.filter(pa.array(quarantined)).append_column(FAILED_RULES_COLUMN, failed.column(FAILED_RULES_COLUMN))
    write_parquet_atomically(taken, quarantine_path)
    return QuarantineResult(kept_rows=kept.num_rows, quarantined_rows=taken.num_rows)


def _failed_rules(failing_rows: pa.Table, quarantining: Sequence[str]) -> pa.Table:
    """`_row` and the comma-separated quarantine checks it failed, for rows failing at least one."""
    if not quarantining:
        return pa.table({"_row": pa.array([], pa.int64()), FAILED_RULES_COLUMN: pa.array([], pa.string())})
    failed = ", ".join(f"CASE WHEN {quoted(name)} THEN {literal(name)} END" for name in quarantining)
    condition = " OR ".join(quoted(name) for name in quarantining)
    with duckdb.connect() as connection:
        connection.register("failing_rows", failing_rows)
        table = connection.sql(
            f"SELECT _row, concat_ws(',', {failed}) AS {FAILED_RULES_COLUMN} FROM failing_rows "
            f"WHERE {condition} ORDER BY _row"
        ).to_arrow_table()
    return table.cast(pa.schema([("_row", pa.int64()), (FAILED_RULES_COLUMN, pa.string())]))


def write_parquet_atomically(table: pa.Table, path: Path) -> None:
    """Write beside the target, then rename, so no reader sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, path)


def _row_outcome(
    rule: QualityRule, failing: int, rows_total: int, problem: str | None
) -> tuple[bool, int, float, str]:
    percent = 100.0 * failing / rows_total if rows_total else 0.0
    allowed = 0.0
    if isinstance(rule, NotNullRule):
        allowed = rule.max_null_percent
    elif isinstance(rule, UniqueRule):
        allowed = rule.max_duplicate_percent
    passed = problem is None and percent <= allowed
    detail = problem or f"{failing} of {rows_total} rows ({percent:.2f}%) fail; {allowed:g}% allowed"
    return passed, failing, percent, detail


def _window_outcome(
    rule: QualityRule, rows_total: int, schema: pa.Schema, newest: Any, now: dt.datetime, types: Mapping[str, str]
) -> tuple[bool, int, float, str]:
    if isinstance(rule, RowCountRule):
        passed = (rule.min is None or rows_total >= rule.min) and (rule.max is None or rows_total <= rule.max)
        return passed, int(not passed), 0.0, f"{rows_total} rows; {describe(rule)}"
    if isinstance(rule, SchemaRule):
        mismatches = schema_mismatches(schema, rule.expected)
        return not mismatches, len(mismatches), 0.0, "; ".join(mismatches) or "every expected column has its type"
    assert isinstance(rule, FreshnessRule)
    oldest_allowed = _as_moment(now) - rule.max_age_delta
    if rule.column in types and type_family(types[rule.column]) != "moment":
        return False, 1, 0.0, (
            f"{rule.column} holds {types[rule.column]} values, not dates or timestamps; "
            "point the freshness rule at a date or timestamp column."
        )
    if newest is None:
        return False, 1, 0.0, f"{rule.column} has no values, so the window is not fresh"
    moment = _as_moment(newest)
    if moment is None:
        return False, 1, 0.0, f"{rule.column} holds {type(newest).__name__} values, not dates or timestamps"
    passed = moment >= oldest_allowed
    return passed, int(not passed), 0.0, f"newest {rule.column} is {newest}; must be at or after {oldest_allowed}"


def _as_moment(value: Any) -> dt.datetime | None:
    """A date counts as its day's end: a daily value is as fresh as the last moment it covers."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return None


def _json_safe(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.timedelta):
        return str(value)
    return value
