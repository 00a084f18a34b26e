"""Ad-hoc SQL against the warehouse and its result as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from snowflake.connector import errors as sf_errors

from etl_assets.errors import WarehouseError
from etl_assets.json_values import json_safe

OutputFormat = Literal["table", "csv", "json"]


def run_query(connection, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of one statement."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        columns = [column[0] for column in cursor.description or []]
        return columns, [tuple(row) for row in cursor.fetchall()] if columns else []
    except sf_errors.Error as exc:
        reason = (exc.msg or str(exc)).strip().splitlines()[0]
        raise WarehouseError(f"The warehouse refused the statement ({reason}); fix the SQL and run it again.") from exc
    finally:
        cursor.close()


def format_result(columns: list[str], rows: list[tuple], fmt: OutputFormat = "table") -> str:
    """The result as an aligned plain-text table, CSV, or a JSON list of objects."""
    if fmt == "table":
        return _as_table(columns, rows)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(value, null="") for value in row] for row in rows])
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps([dict(zip(columns, map(json_safe, row), strict=True)) for row in rows], indent=2)
    raise WarehouseError(f"Unknown output format {fmt!r}; use table, csv or json.")


def _as_table(columns: list[str], rows: list[tuple]) -> str:
    cells = [[_text(value) for value in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    lines = [
        "  ".join(name.ljust(width) for name, width in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * width for width in widths),
        *("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells),
        f"({len(rows)} row{'' if len(rows) == 1 else 's'})",
    ]
    return "\n".join(lines)


def _text(value: Any, null: str = "NULL") -> str:
    """A table or CSV cell: the JSON-safe form as text, and `null` for a missing value."""
    return null if value is None else str(json_safe(value))
