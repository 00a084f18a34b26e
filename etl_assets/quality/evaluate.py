"""Every quality rule of one window, evaluated in DuckDB over the window's Parquet in a few scans."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl_assets import local_duckdb
from etl_assets.config.columns import FAILED_RULES, SOURCE_FILE, SOURCE_ROW
from etl_assets.quality.rule_types.base import RuleBase
from etl_assets.excluded_rows import write_excluded
from etl_assets.files import atomic_path
from etl_assets.json_values import json_safe
from etl_assets.quality.rule_types import rule_type
from etl_assets.quality.rule_types.base import RowRuleType, RuleType, WindowRuleType
from etl_assets.quality.window import ReferenceData, RowFlag, Window, WindowFacts
from etl_assets.sql_text import literal, parquet_by_position, position_aliases, quote_identifier

# Where a failing row came from (file and line), shown beside the rule's own columns in its examples.
SOURCE_COLUMNS = (SOURCE_FILE, SOURCE_ROW)
MAX_EXAMPLES = 20
# quarantined rows handed over at a time as they are written
QUARANTINE_BATCH_ROWS = 65_536


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


def evaluate_window(
    parquet_path: Path,
    rules: Sequence[RuleBase],
    *,
    names: Sequence[str],
    references: Mapping[tuple[str, str], ReferenceData] | None = None,
    now: dt.datetime,
    database: duckdb.DuckDBPyConnection | None = None,
) -> WindowQuality:
    """Outcomes of `rules` (checks named `names`) on one window; `references` maps (dataset, key) to its values.

    A rule that cannot be checked on this window (a bound of the wrong type, unreadable reference data) fails
    with a sentence saying why, and the other rules are evaluated as usual. Given an open `database`, the window
    gets its own cursor on it instead of a new database: a run's windows then pay DuckDB's start-up once.
    """
    kinds = [rule_type(rule) for rule in rules]
    row_kinds = {index: kind for index, kind in enumerate(kinds) if isinstance(kind, RowRuleType)}
    window_kinds = {index: kind for index, kind in enumerate(kinds) if isinstance(kind, WindowRuleType)}
    with local_duckdb.connect() if database is None else database.cursor() as connection:
        window = Window.read(connection, parquet_path, references or {})
        with pq.ParquetFile(parquet_path) as parquet:  # its footer: the rows and the schema, read once
            rows_total, schema = parquet.metadata.num_rows, parquet.schema_arrow
        flags = {index: _row_flag(kind, window) for index, kind in row_kinds.items()}
        flags, failing_rows = _failing_rows(window, flags, [names[index] for index in row_kinds])
        failing = {index: pc.sum(failing_rows.column(1 + position)).as_py() or 0 for position, index in enumerate(row_kinds)}
        examples = _examples(window, kinds, failing_rows, list(row_kinds))
        aggregates = _aggregates(window, window_kinds)
    rows_passing_all = rows_total - failing_rows.num_rows

    facts = WindowFacts(rows_total, schema, window.types, now)
    judged = {
        **{index: _row_outcome(kind, failing[index], rows_total, flags[index].problem) for index, kind in row_kinds.items()},
        **{index: _window_outcome(kind, facts, aggregates.get(index)) for index, kind in window_kinds.items()},
    }
    outcomes = [_outcome(kind, names[index], judged[index], examples.get(index, [])) for index, kind in enumerate(kinds)]
    score = rows_passing_all / rows_total if rows_total else 1.0
    return WindowQuality(rows_total, outcomes, rows_passing_all, score, failing_rows)


def _outcome(kind: RuleType, name: str, judged: tuple[bool, int, float, str], examples: list[dict[str, Any]]) -> RuleOutcome:
    passed, count, percent, detail = judged
    rule = kind.rule
    return RuleOutcome(
        name=name,
        rule_type=rule.rule,
        severity=rule.severity,
        action=rule.action,
        passed=passed,
        failing_count=count,
        failing_percent=percent,
        examples=examples,
        description=kind.describe(),
        detail=detail,
    )


def _failing_rows(window: Window, flags: dict[int, RowFlag], names: list[str]) -> tuple[dict[int, RowFlag], pa.Table]:
    """The rows failing any row-level rule, in row order: `_row` and one boolean per rule, named `names`.

    One scan, and only failing rows are kept: passing rows fail no rule, so each rule's count is its column's sum.
    The flags are computed in a subquery, so a rule reading other rows (unique) sees every row before the filter.
    When the query fails on the data, each rule is tried alone and the failing ones set aside.
    """
    try:
        return flags, _flagged(window, flags, names)
    except duckdb.Error:
        runnable = {index: _runnable(window, flag) for index, flag in flags.items()}
        return runnable, _flagged(window, runnable, names)


def _flagged(window: Window, flags: dict[int, RowFlag], names: list[str]) -> pa.Table:
    columns = "".join(f", coalesce({flag.sql}, false) AS f{index}" for index, flag in flags.items())
    named = "".join(f", f{index} AS {quote_identifier(name)}" for index, name in zip(flags, names, strict=True))
    any_failure = " OR ".join(f"f{index}" for index in flags) or "false"
    return window.connection.sql(
        f"SELECT _row{named} FROM (SELECT file_row_number::BIGINT AS _row{columns} FROM {window.source}) "
        f"WHERE {any_failure} ORDER BY _row"
    ).to_arrow_table()


def _runnable(window: Window, flag: RowFlag) -> RowFlag:
    try:
        window.connection.execute(f"SELECT count_if({flag.sql}) FROM {window.source}").fetchall()
    except duckdb.Error as error:
        return _unevaluable(error)
    return flag


def _unevaluable(error: Exception) -> RowFlag:
    reason = str(error).strip().split("\n", 1)[0]
    return RowFlag("false", f"the rule could not be evaluated on this window ({reason}); fix the rule or the data it reads.")


def _row_flag(kind: RowRuleType, window: Window) -> RowFlag:
    missing = [column for column in kind.columns() if column not in window.aliases]
    if missing:
        return RowFlag("true", f"column {missing[0]} is not in the window, so every row fails")
    try:
        return kind.row_flag(window)
    except duckdb.Error as error:
        return _unevaluable(error)


def _examples(window: Window, kinds: Sequence[RuleType], failing_rows: pa.Table, row_rules: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Up to MAX_EXAMPLES failing rows per rule (the first ones, from `failing_rows`), fetched together in one more scan."""
    rows = failing_rows.column("_row")
    picked = {}
    for position, index in enumerate(row_rules):
        first = rows.filter(failing_rows.column(1 + position)).slice(0, MAX_EXAMPLES).to_pylist()
        if first:
            picked[index] = first
    wanted = sorted({row for rows_of_rule in picked.values() for row in rows_of_rule})
    if not wanted:
        return {}
    shown = {index: [c for c in (*kinds[index].columns(), *SOURCE_COLUMNS) if c in window.aliases] for index in picked}
    columns = list(dict.fromkeys(column for names in shown.values() for column in names))
    selected = "".join(f", {window.column(column)}" for column in columns)
    table = window.connection.sql(
        f"SELECT file_row_number{selected} FROM {window.source} WHERE file_row_number IN (SELECT unnest(?::BIGINT[]))",
        params=[wanted],
    ).to_arrow_table()
    # read by position: the columns' own names may repeat `file_row_number`
    values = [table.column(position).to_pylist() for position in range(table.num_columns)]
    by_row = {row: dict(zip(columns, row_values)) for row, *row_values in zip(*values)}
    return {
        index: [{column: json_safe(by_row[row][column]) for column in shown[index]} for row in rows_of_rule]
        for index, rows_of_rule in picked.items()
    }


def _aggregates(window: Window, kinds: Mapping[int, WindowRuleType]) -> dict[int, Any]:
    """The value of each window-level rule's aggregate, all computed in one scan."""
    wanted = {index: kind.aggregate(window) for index, kind in kinds.items()}
    expressions = {index: sql for index, sql in wanted.items() if sql is not None}
    if not expressions:
        return {}
    table = window.connection.sql(f"SELECT {', '.join(expressions.values())} FROM {window.source}").to_arrow_table()
    return {index: table.column(position)[0].as_py() for position, index in enumerate(expressions)}


def quarantine_window(
    parquet_path: Path,
    quality: WindowQuality,
    rules: Sequence[RuleBase],
    names: Sequence[str],
    *,
    kept_path: Path,
    quarantine_path: Path,
    excluded_path: Path,
) -> QuarantineResult:
    """Rows failing an `action: quarantine` rule go to `quarantine_path` with `_failed_rules`; the window is not
    written again without them.

    Rules were evaluated on all rows, so a quarantined row still counts in every rule's outcome. `kept_path` becomes
    the judged file itself (a hard link where the file system allows, else a copy), so a later transform writing
    the window anew leaves it as judged, and `excluded_path` lists the quarantined rows' positions in it
    (excluded_rows.py): the load leaves them out as it writes its own files. With nothing to quarantine, a stale
    quarantine file from an earlier run is removed.

    The positions file is written last and even when empty, with the kept file's identity: should the run stop
    half way, the earlier verdict that names it then no longer matches the kept file, and its load is refused.
    """
    rows = pq.read_metadata(parquet_path).num_rows
    if rows != quality.rows_total:
        raise ValueError(f"{parquet_path} has {rows} rows but was evaluated with {quality.rows_total}")
    quarantining = [
        name for rule, name in zip(rules, names, strict=True) if rule.row_level and rule.action == "quarantine"
    ]
    failed = _failed_rules(quality.failing_rows, quarantining)
    link_or_copy(parquet_path, kept_path)
    if failed.num_rows:
        _write_quarantined(kept_path, failed, quarantine_path)
    else:
        quarantine_path.unlink(missing_ok=True)
    write_excluded(kept_path, failed.column("_row"), excluded_path)
    return QuarantineResult(kept_rows=rows - failed.num_rows, quarantined_rows=failed.num_rows)


def _write_quarantined(path: Path, failed: pa.Table, quarantine_path: Path) -> None:
    """The rows of `path` that `failed` lists, in file order, with the rules each broke.

    DuckDB picks them out in a join on the row's position, reading on every core (a quarter of the time Arrow takes
    to read the window batch by batch), and hands them over batch by batch in the window's own types.
    """
    schema = pq.read_schema(path)
    aliases = position_aliases(len(schema))
    quarantine_schema = schema.append(pa.field(FAILED_RULES, pa.string()))
    with local_duckdb.connect() as connection, atomic_path(quarantine_path) as temporary:
        connection.register("failed", failed)
        reader = connection.sql(
            f"SELECT {', '.join(aliases)}, failed.{quote_identifier(FAILED_RULES)} "
            f"FROM {parquet_by_position(path, 'window_rows', len(schema))} "
            f"JOIN failed ON window_rows.file_row_number = failed._row ORDER BY failed._row"
        ).to_arrow_reader(QUARANTINE_BATCH_ROWS)
        with pq.ParquetWriter(temporary, quarantine_schema) as writer:
            for batch in reader:
                writer.write_batch(pa.RecordBatch.from_arrays([column.cast(field.type) for column, field in zip(batch.columns, quarantine_schema)], schema=quarantine_schema))


def link_or_copy(source: Path, path: Path) -> None:
    """`path` holds the same bytes as `source`: a hard link where the file system allows, else a copy, atomically."""
    with atomic_path(path) as temporary:
        temporary.unlink()
        try:
            os.link(source, temporary)
        except OSError:
            shutil.copyfile(source, temporary)


def _failed_rules(failing_rows: pa.Table, quarantining: Sequence[str]) -> pa.Table:
    """`_row` and the comma-separated quarantine checks it failed, for rows failing at least one."""
    if not quarantining or not failing_rows.num_rows:
        return pa.table({"_row": pa.array([], pa.int64()), FAILED_RULES: pa.array([], pa.string())})
    failed = ", ".join(f"CASE WHEN {quote_identifier(name)} THEN {literal(name)} END" for name in quarantining)
    condition = " OR ".join(quote_identifier(name) for name in quarantining)
    with local_duckdb.connect() as connection:
        connection.register("failing_rows", failing_rows)
        table = connection.sql(
            f"SELECT _row, concat_ws(',', {failed}) AS {FAILED_RULES} FROM failing_rows "
            f"WHERE {condition} ORDER BY _row"
        ).to_arrow_table()
    return table.cast(pa.schema([("_row", pa.int64()), (FAILED_RULES, pa.string())]))


def write_empty_quarantine(kept_path: Path, quarantine_path: Path) -> None:
    """A quarantine file with no rows, in the kept rows' schema plus `_failed_rules`."""
    schema = pq.read_schema(kept_path).append(pa.field(FAILED_RULES, pa.string()))
    _write_parquet(schema.empty_table(), quarantine_path)


def _write_parquet(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)


def _row_outcome(kind: RowRuleType, failing: int, rows_total: int, problem: str | None) -> tuple[bool, int, float, str]:
    percent = 100.0 * failing / rows_total if rows_total else 0.0
    allowed = kind.allowed_percent()
    passed = problem is None and percent <= allowed
    detail = problem or f"{failing} of {rows_total} rows ({percent:.2f}%) fail; {allowed:g}% allowed"
    return passed, failing, percent, detail


def _window_outcome(kind: WindowRuleType, facts: WindowFacts, aggregate: Any) -> tuple[bool, int, float, str]:
    verdict = kind.verdict(facts, aggregate)
    return verdict.passed, verdict.failing_count, 0.0, verdict.detail
