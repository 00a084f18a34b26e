"""Time windows computed without Dagster, with exactly the keys of Dagster's time partitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from etl_assets.config.models import PartitionsConfig
from etl_assets.errors import IngestError

KEY_FORMATS = {"hourly": "%Y-%m-%d-%H:%M", "daily": "%Y-%m-%d", "weekly": "%Y-%m-%d", "monthly": "%Y-%m-%d"}
KEY_EXAMPLES = {"hourly": "2026-01-05-13:00", "daily": "2026-01-05", "weekly": "2026-01-05 (a Monday)", "monthly": "2026-01-01"}


@dataclass(frozen=True)
class TimeWindow:
    """One partition: its key and its [start, end) in the partitions' time zone."""

    key: str
    start: datetime
    end: datetime


def window_for(instant: datetime, partitions: PartitionsConfig) -> TimeWindow:
    """The window containing `instant`; a naive instant is read in the partitions' time zone."""
    zone = ZoneInfo(partitions.timezone)
    aware = instant if instant.tzinfo else instant.replace(tzinfo=zone)
    # Going through UTC resolves folds and moves a time inside a DST gap to a real one.
    local = aware.astimezone(UTC).astimezone(zone)
    return _window(_window_start(local, partitions.cadence), partitions.cadence)


def window_before(window: TimeWindow, partitions: PartitionsConfig) -> TimeWindow:
    """The window that ends where `window` starts."""
    return window_for(window.start - timedelta(microseconds=1), partitions)


def last_closed_window(instant: datetime, partitions: PartitionsConfig) -> TimeWindow:
    """The window before the one `instant` falls in: the newest whose end has passed."""
    return window_before(window_for(instant, partitions), partitions)


def window_from_key(key: str, partitions: PartitionsConfig) -> TimeWindow:
    """The window a Dagster partition key names."""
    zone = ZoneInfo(partitions.timezone)
    try:
        if partitions.cadence == "hourly" and len(key) > len("2026-01-05-13:00"):
            # Dagster marks the second pass of a repeated DST hour with its offset, e.g. `-02:00+0100`.
            stamped = datetime.strptime(key, KEY_FORMATS["hourly"] + "%z")
            local = stamped.replace(tzinfo=zone, fold=1)
            if local.utcoffset() != stamped.utcoffset():
                local = local.replace(fold=0)
        else:
            local = datetime.strptime(key, KEY_FORMATS[partitions.cadence]).replace(tzinfo=zone)
    except ValueError:
        local = None
    window = window_for(local, partitions) if local is not None else None
    if window is None or window.key != key:
        raise IngestError(
            f"{key!r} is not a {partitions.cadence} partition key in {partitions.timezone}; "
            f"use a key like {KEY_EXAMPLES[partitions.cadence]}."
        )
    return window


def _window_start(local: datetime, cadence: str) -> datetime:
    if cadence == "hourly":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if cadence == "weekly":
        day -= timedelta(days=day.weekday())
    elif cadence == "monthly":
        day = day.replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=local.tzinfo)


def _window(start: datetime, cadence: str) -> TimeWindow:
    zone = start.tzinfo
    if cadence == "hourly":
        end = (start.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
        return TimeWindow(_hourly_key(start), start, end)
    if cadence == "monthly":
        end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=zone)
    else:
        next_day = start.date() + timedelta(days=7 if cadence == "weekly" else 1)
        end = datetime(next_day.year, next_day.month, next_day.day, tzinfo=zone)
    return TimeWindow(start.strftime(KEY_FORMATS[cadence]), start, end)


def _hourly_key(start: datetime) -> str:
    key = start.strftime(KEY_FORMATS["hourly"])
    repeated_hour = start.replace(fold=0).utcoffset() != start.replace(fold=1).utcoffset()
    return key + start.strftime("%z") if repeated_hour and start.fold == 1 else key
