"""One schedule per dataset with `schedule.enabled`: each tick runs the window that has just closed."""

from __future__ import annotations

import dagster as dg

from etl_assets.config.models import DatasetConfig
from etl_assets.defs.jobs import DATASET_TAG
from etl_assets.defs.partitions import partitions_def_for
from etl_assets.ingest.windows import last_closed_window


def build_window_schedule(dataset: DatasetConfig, job_name: str) -> dg.ScheduleDefinition:
    """Not `build_schedule_from_partitioned_job`: with the open window as a partition (end_offset=1) it would run the
    window that has just opened, which holds no files yet. Stopped by default: the upload sensor already loads each
    file as it lands, so a user turns this on for the run at each window's close (catching files the sensor missed)."""
    partitions_def = partitions_def_for(dataset.partitions)
    cron = dataset.schedule.cron or partitions_def.get_cron_schedule()

    @dg.schedule(
        name=f"{dataset.name}_schedule",
        job_name=job_name,
        cron_schedule=cron,
        execution_timezone=dataset.partitions.timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Runs {dataset.name}'s chain for the last closed {dataset.partitions.cadence} window, on {cron!r}.",
    )
    def window_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        key = last_closed_window(context.scheduled_execution_time, dataset.partitions).key
        if not partitions_def.has_partition_key(key):
            return dg.SkipReason(f"no window of {dataset.name} has closed yet (partitions.start is {dataset.partitions.start}).")
        return dg.RunRequest(run_key=key, partition_key=key, tags={DATASET_TAG: dataset.name})

    return window_schedule

