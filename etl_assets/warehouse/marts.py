"""An SQL mart's windows, replaced in its table inside one transaction: DELETE the windows, INSERT each one's SELECT."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from snowflake.connector import errors as sf_errors
from snowflake.connector.constants import FIELD_ID_TO_NAME

from etl_assets.config.columns import WINDOW_END, WINDOW_START
from etl_assets.config.marts import PLACEHOLDER
from etl_assets.ingest.windows import TimeWindow
from etl_assets.sql_text import literal, qualified_name, quote_identifier
from etl_assets.warehouse.errors import PermanentWarehouseError, classify, is_transient, reason_of, roll_back_after
from etl_assets.warehouse.identifiers import object_name

MART_ALIAS = quote_identifier("mart")
PREVIEW_ROWS = 20


@dataclass(frozen=True)
class MartTable:
    """Where a mart's rows go, as configured; Snowflake resolves the unquoted names upper-cased."""

    database: str
    schema: str
    table: str

    @property
    def name(self) -> str:
        return qualified_name(*(object_name(part) for part in (self.database, self.schema, self.table)))


@dataclass(frozen=True)
class MartWrite:
    """What a run left in the mart's table: the rows of each window, the columns, and the first rows."""

    rows_per_window: dict[str, int]
    columns: list[tuple[str, str]]
    preview: list[tuple]


def source_table(database: str, schema: str, table: str) -> str:
    """A loaded dataset's table as its SQL reads it."""
    return MartTable(database, schema, table).name


def render_sql(sql: str, tables: Mapping[str, str], window: TimeWindow) -> str:
    """The mart's SELECT for one window: each {{dataset}} its quoted table, {{window_start}}/{{window_end}} literals."""
    values = {**tables, "window_start": literal(window.start), "window_end": literal(window.end)}
    return PLACEHOLDER.sub(lambda match: values[match[1]], sql)


def _window_select(sql: str, tables: Mapping[str, str], window: TimeWindow) -> str:
    # the line breaks keep a trailing `-- comment` in the mart's SQL from swallowing the closing parenthesis
    query = render_sql(sql, tables, window).strip().rstrip(";")
    return (
        f"SELECT {literal(window.start)} AS {quote_identifier(WINDOW_START)}, "
        f"{literal(window.end)} AS {quote_identifier(WINDOW_END)}, {MART_ALIAS}.* FROM (\n{query}\n) AS {MART_ALIAS}"
    )


def replace_mart_windows(connection, target: MartTable, sql: str, tables: Mapping[str, str], windows: Sequence[TimeWindow]) -> MartWrite:
    """Create the table from the SELECT's columns if missing, then replace the windows' rows in one transaction."""
    try:
        return _replace(connection.cursor(), target, sql, tables, windows)
    except sf_errors.Error as exc:
        action = f"Writing mart table {target.name}"
        if is_transient(exc):
            raise classify(exc, action, outcome="its rows are as they were") from exc
        raise PermanentWarehouseError(
            f"{action} failed ({reason_of(exc)}); its rows are as they were, so fix the mart's sql, or drop the table "
            "if the SELECT's columns have changed, and run it again."
        ) from exc


def _replace(cursor, target: MartTable, sql: str, tables: Mapping[str, str], windows: Sequence[TimeWindow]) -> MartWrite:
    database, schema = object_name(target.database), object_name(target.schema)
    # DDL commits on its own, so it runs before the transaction; an empty table only takes the SELECT's shape
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified_name(database, schema)}")
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {target.name} AS {_window_select(sql, tables, windows[0])} LIMIT 0")
    starts = ", ".join(literal(window.start) for window in windows)
    cursor.execute("BEGIN")
    try:
        cursor.execute(f"DELETE FROM {target.name} WHERE {quote_identifier(WINDOW_START)} IN ({starts})")
        for window in windows:
            cursor.execute(f"INSERT INTO {target.name} {_window_select(sql, tables, window)}")
        written = _written(cursor, target, windows, starts)
        cursor.execute("COMMIT")
    except BaseException as exc:
        roll_back_after(cursor, exc)
        raise
    return written


def _written(cursor, target: MartTable, windows: Sequence[TimeWindow], starts: str) -> MartWrite:
    start_column = quote_identifier(WINDOW_START)
    cursor.execute(f"SELECT {start_column}, COUNT(*) FROM {target.name} WHERE {start_column} IN ({starts}) GROUP BY 1")
    counts = {start: count for start, count in cursor.fetchall()}
    rows_per_window = {window.key: next((n for start, n in counts.items() if start == window.start), 0) for window in windows}
    cursor.execute(f"SELECT * FROM {target.name} WHERE {start_column} IN ({starts}) ORDER BY 1 LIMIT {PREVIEW_ROWS}")
    columns = [(column[0], _type_name(column)) for column in cursor.description]
    return MartWrite(rows_per_window, columns, [tuple(row) for row in cursor.fetchall()])


def _type_name(column) -> str:
    return FIELD_ID_TO_NAME.get(column[1], "UNKNOWN")
