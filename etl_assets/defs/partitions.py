"""Time-window partitions from a dataset's `partitions` config; the open window is a valid partition."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from etl_assets.config.models import PartitionsConfig
from etl_assets.ingest.windows import TimeWindow

# end_offset=1 makes the current, still-open window a partition, so an upload loads minutes after it lands.
OPEN_WINDOW_OFFSET = 1


def partitions_def_for(partitions: PartitionsConfig) -> dg.TimeWindowPartitionsDefinition:
    """The Dagster partitions definition for a cadence, start and time zone."""
    start = partitions.start_datetime
    common = {"timezone": partitions.timezone, "end_offset": OPEN_WINDOW_OFFSET}
    if partitions.cadence == "hourly":
        return dg.HourlyPartitionsDefinition(start_date=start.strftime("%Y-%m-%d-%H:%M"), **common)
    if partitions.cadence == "weekly":
        # day_offset=1: weeks start on Monday, as ISO weeks and the domain windows do.
        return dg.WeeklyPartitionsDefinition(start_date=start.strftime("%Y-%m-%d"), day_offset=1, **common)
    if partitions.cadence == "monthly":
        return dg.MonthlyPartitionsDefinition(start_date=start.strftime("%Y-%m-%d"), **common)
    return dg.DailyPartitionsDefinition(start_date=start.strftime("%Y-%m-%d"), **common)


def windows_in_run(context: dg.AssetExecutionContext) -> list[TimeWindow]:
    """Every window a run covers: one for a single partition, many for a ranged backfill."""
    partitions_def = context.assets_def.partitions_def
    assert isinstance(partitions_def, dg.TimeWindowPartitionsDefinition)
    return windows_of_keys(partitions_def, context.partition_keys)


def windows_of_keys(partitions_def: dg.TimeWindowPartitionsDefinition, keys: Sequence[str]) -> list[TimeWindow]:
    """The domain windows the partition keys name, in their order."""
    windows = []
    for key in keys:
        window = partitions_def.time_window_for_partition_key(key)
        windows.append(TimeWindow(key=key, start=window.start, end=window.end))
    return windows
