"""`partition_by: {column: NAME}`: each row belongs to the window of its own date, so one file can feed several."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from etl_assets.config.columns import SOURCE_ROW
from etl_assets.config.models import PartitionsConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.model import StreamedRead
from etl_assets.ingest.names import normalise_column_name
from etl_assets.ingest.windows import TimeWindow, window_for

INSTANT = pa.timestamp("us", tz="UTC")
# Every time zone's offset is a whole number of quarter hours, so instants floored to 15 minutes keep their window,
# and a window is then looked up once per quarter hour that occurs, not once per row.
QUARTER_HOUR_MINUTES = 15


@dataclass(frozen=True)
class RowWindows:
    """Each row's window key, None where the row has none; and for those rows, why."""

    keys: pa.Array
    problems: pa.Array


@dataclass(frozen=True)
class WindowRange:
    """The windows a row may go to: from the dataset's first window to the current one."""

    first: TimeWindow
    last: TimeWindow

    @classmethod
    def of(cls, partitions: PartitionsConfig, now: datetime | None = None) -> WindowRange:
        return cls(window_for(partitions.start_datetime, partitions), window_for(now or datetime.now(UTC), partitions))


def partition_column(column: str, columns: dict[str, str], original_name: str) -> str:
    """The upload's column `partition_by: {column: NAME}` names, given as the file's header or as normalised."""
    if column in columns:
        return column
    named = normalise_column_name(column)
    if named in columns:
        return named
    by_header = [name for name, header in columns.items() if header == column]
    if by_header:
        return by_header[0]
    raise IngestError(
        f"{original_name!r} has no column {column!r} to take each row's window from (partition_by: column); "
        f"its columns are {', '.join(repr(header) for header in columns.values()) or 'none'}: fix partition_by or the file's header."
    )


def windowed_batches(
    read: StreamedRead, column: str, original_name: str, partitions: PartitionsConfig, allowed: WindowRange
) -> Iterator[tuple[pa.Table, RowWindows]]:
    """The read's batches, each with its rows' windows from `column`, found among the first batch's columns."""
    found: str | None = None
    for batch in read.batches:
        names = [name for name in batch.column_names if name != SOURCE_ROW]
        found = found or partition_column(column, dict(zip(names, names)), original_name)
        yield batch, row_windows(batch[found], partitions, allowed)


def row_windows(values: pa.Array | pa.ChunkedArray, partitions: PartitionsConfig, allowed: WindowRange) -> RowWindows:
    """The window of each value: dates, times and ISO text (a naive time is in the partitions' time zone)."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    instants, unreadable = _instants(values, partitions.timezone)
    floored = pc.floor_temporal(instants, multiple=QUARTER_HOUR_MINUTES, unit="minute")
    distinct = pc.unique(floored).drop_null()
    windows = [window_for(moment, partitions) for moment in distinct.to_pylist()]
    keys_of_distinct = pa.array([window.key for window in windows], pa.string())
    problems_of_distinct = pa.array([_out_of_range(window, allowed) for window in windows], pa.string())
    positions = pc.index_in(floored, value_set=distinct)
    keys = pc.take(keys_of_distinct, positions)
    problems = pc.take(problems_of_distinct, positions)
    problems = pc.if_else(pc.is_null(values), pa.scalar("has no date", pa.string()), problems)
    problems = pc.if_else(unreadable, _not_a_date(values), problems)
    return RowWindows(pc.if_else(pc.is_null(problems), keys, pa.scalar(None, pa.string())), problems)


def _instants(values: pa.Array, timezone: str) -> tuple[pa.Array, pa.Array]:
    """Each value as an instant (UTC), and which values were there but could not be read as one."""
    kind = values.type
    if pa.types.is_timestamp(kind):
        instants = values.cast(pa.timestamp("us", tz=kind.tz)) if kind.tz else _localised(values.cast(pa.timestamp("us")), timezone)
        return instants.cast(INSTANT), pa.repeat(False, len(values))
    if pa.types.is_date(kind):
        return _localised(values.cast(pa.timestamp("us")), timezone).cast(INSTANT), pa.repeat(False, len(values))
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return pa.nulls(len(values), INSTANT), pc.is_valid(values)
    text = pc.utf8_trim_whitespace(values)
    try:
        # the common case, plain ISO dates and times, parsed by Arrow at once
        return _localised(text.cast(pa.timestamp("us")), timezone).cast(INSTANT), pa.repeat(False, len(values))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _instants_one_text_at_a_time(text, timezone)


def _instants_one_text_at_a_time(text: pa.Array, timezone: str) -> tuple[pa.Array, pa.Array]:
    """Offsets (Z, +02:00), compact dates (20261120) and unreadable values: each distinct text parsed once."""
    distinct = pc.unique(text).drop_null()
    parsed = [_parse_instant(value, timezone) for value in distinct.to_pylist()]
    instants = pc.take(pa.array(parsed, INSTANT), pc.index_in(text, value_set=distinct))
    return instants, pc.and_(pc.is_valid(text), pc.is_null(instants))


def _parse_instant(text: str, timezone: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def _localised(naive: pa.Array, timezone: str) -> pa.Array:
    # A time inside a DST gap or fold is read as its earlier instant, as window_for reads a naive time.
    return pc.assume_timezone(naive, timezone=timezone, ambiguous="earliest", nonexistent="earliest")


def _out_of_range(window: TimeWindow, allowed: WindowRange) -> str | None:
    if window.start < allowed.first.start:
        return f"is in window {window.key}, before the dataset's first window {allowed.first.key} (partitions.start)"
    if window.start > allowed.last.start:
        return f"is in window {window.key}, after the current window {allowed.last.key}"
    return None


def _not_a_date(values: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar("is not a date: "), values.cast(pa.string()), "")
