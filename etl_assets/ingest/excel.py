"""Excel workbooks read with fastexcel (calamine), each sheet a file of the upload named `book.xlsx/Sheet1`.

A sheet is read whole: calamine loads one sheet at a time, and a sheet holds at most 1,048,576 rows, so memory is
bounded by the largest sheet, not by the workbook.

Values stay what the user sees. Excel stores every number as a double: a column of whole numbers is read as
integers (never `12345.0`), one with fractions as doubles. A date column is dates, or timestamps when a value has a
time of day; a column of times of day is times; durations (`[h]:mm:ss`) are text such as `36:00:00`. Text stays
text, leading zeros and all. fastexcel types a column from its cells and coerces the odd one out, which can change
it (a TRUE among numbers becomes 1.0, text among dates NULL), so each sheet is also read as text, and a column whose
typed values disagree with their text (a value lost, or a text that is not of the column's type) is kept as that
text, numbers as Excel's General format shows them. Error cells (#N/A, #DIV/0!) hold no value and are NULL.

The header is the first row holding a value (row 1 in almost every sheet); `_source_row` is the sheet's row number,
so the first data row under a header in row 1 is row 2. Rows with no value are left out, as blank lines of a CSV are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import reduce
from pathlib import Path

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc

from etl_assets.config.columns import SOURCE_ROW
from etl_assets.errors import IngestError
from etl_assets.ingest.model import ReadResult, StreamedRead
from etl_assets.ingest.names import normalise_column_names, rename_reserved

# Every integer up to 2**53 is a double exactly; beyond, a whole-number double is only Excel's approximation.
MAX_EXACT_INTEGER = 2**53
# Excel's dates start on 1900-01-01: a time of day alone is a fraction of a day, which calamine puts on 1899-12-31.
FIRST_EXCEL_DATE = dt.datetime(1900, 1, 1)


def workbook_sheets(path: Path, workbook_name: str, sheets: tuple[str, ...] | None) -> Iterator[tuple[str, StreamedRead]]:
    """Each of the `sheets` asked for (None: every sheet) as `book.xlsx/Sheet1` with its rows, read when reached."""
    with _workbook_errors(workbook_name):
        reader = fastexcel.read_excel(path)
    present = reader.sheet_names
    missing = [sheet for sheet in sheets or () if sheet not in present]
    if missing:
        raise IngestError(
            f"{workbook_name!r} has no sheet {', '.join(map(repr, missing))} (source.sheets); its sheets are "
            f"{', '.join(map(repr, present))}: set source.sheets to those to read, or leave it out to read every sheet."
        )
    for sheet in present if sheets is None else sheets:
        yield f"{workbook_name}/{sheet}", _sheet_read(reader, sheet, workbook_name)


def _sheet_read(reader: fastexcel.ExcelReader, sheet: str, workbook_name: str) -> StreamedRead:
    with _workbook_errors(workbook_name):
        result = _read_sheet(reader, sheet)
    summary = dataclasses.replace(result, table=result.table.schema.empty_table())
    return StreamedRead(iter([result.table]), lambda: summary)


def _read_sheet(reader: fastexcel.ExcelReader, sheet: str) -> ReadResult:
    # Three passes over the sheet: from row 1, to place the header; as text, the header row first; typed.
    from_row_one = reader.load_sheet(sheet, header_row=None, skip_rows=0, n_rows=1, dtypes="string")
    if from_row_one.total_height == 0:
        return ReadResult(pa.table({SOURCE_ROW: pa.array([], pa.int64())}), [], {})
    as_text = reader.load_sheet(sheet, header_row=None, dtypes="string").to_arrow()  # from the first row with a value
    typed = reader.load_sheet(sheet, schema_sample_rows=None).to_arrow()  # every row decides a column's type
    header_row = from_row_one.total_height - as_text.num_rows + 1
    headers = [column[0].as_py() or "" for column in as_text.columns]
    texts = as_text.slice(1)
    columns = [_faithful(typed.column(index), texts.column(index)) for index in range(typed.num_columns)]
    rows = pa.array(range(header_row + 1, header_row + 1 + texts.num_rows), pa.int64())
    names, reserved = rename_reserved(normalise_column_names(headers))
    table = pa.Table.from_arrays([*columns, rows], names=[*names, SOURCE_ROW])
    if texts.num_columns:
        table = table.filter(reduce(pc.or_, [pc.is_valid(column) for column in texts.columns]))
    labels = dict(zip(names, headers, strict=True))
    return ReadResult(table, [], labels, renamed={name: labels[name] for name in reserved})


def _faithful(typed: pa.Array, text: pa.Array) -> pa.Array:
    """The typed column, made as close to the cells as Arrow holds them, when it keeps every cell's value; else the text."""
    if pa.types.is_string(typed.type):
        return text
    if pa.types.is_duration(typed.type):
        return pa.array([None if value is None else _duration_text(value) for value in typed.to_pylist()], pa.string())
    if pa.types.is_null(typed.type):  # no cell holds a value
        return typed
    if not _keeps_every_value(typed, text):
        return text
    if pa.types.is_floating(typed.type):
        return _as_integers_if_whole(typed)
    if pa.types.is_timestamp(typed.type):
        return _as_dates_or_times(typed)
    return typed


def _keeps_every_value(typed: pa.Array, text: pa.Array) -> bool:
    """No cell with a text is NULL in the typed column, and every text reads as the column's type."""
    if pc.any(pc.and_(pc.is_null(typed), pc.is_valid(text))).as_py():
        return False
    try:
        pc.cast(text, typed.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _as_integers_if_whole(numbers: pa.Array) -> pa.Array:
    valid = numbers.drop_null()
    whole = pc.all(pc.equal(pc.floor(valid), valid)).as_py() is not False
    exact = len(valid) == 0 or pc.max(pc.abs(valid)).as_py() <= MAX_EXACT_INTEGER
    return pc.cast(numbers, pa.int64()) if whole and exact else numbers


def _as_dates_or_times(stamps: pa.Array) -> pa.Array:
    valid = stamps.drop_null()
    if len(valid) and pc.max(valid).as_py() < FIRST_EXCEL_DATE:
        return pc.cast(stamps, pa.time64("us"))
    if pc.all(pc.equal(pc.floor_temporal(valid, unit="day"), valid)).as_py() is not False:
        return pc.cast(stamps, pa.date32())
    return stamps


def _duration_text(duration: dt.timedelta) -> str:
    """`36:00:00`, as Excel shows a duration formatted `[h]:mm:ss`, with milliseconds when there are any."""
    seconds, milliseconds = divmod(round(duration.total_seconds() * 1000), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" + (f".{milliseconds:03}" if milliseconds else "")


@contextmanager
def _workbook_errors(workbook_name: str) -> Iterator[None]:
    try:
        yield
    except fastexcel.FastExcelError as exc:
        detail = str(exc).strip().split("\n", 1)[0]
        raise IngestError(
            f"Cannot read {workbook_name!r} as an Excel workbook ({detail}); save it again from Excel as .xlsx and upload it, "
            "or set source.format to its real format."
        ) from None
