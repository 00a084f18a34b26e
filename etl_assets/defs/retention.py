"""Retention's Dagster face: per dataset with `compliance.retention_days`, an asset `retention/<dataset>`, a job
`<dataset>_retention` and a daily schedule, on by default (docs/architecture.md §8).

The asset is unpartitioned and in its own group, `retention`: materializing the table asset for an expired window
would show a deleted window as loaded, and an unpartitioned asset in the dataset's group would break
`--select group:<dataset> --partition KEY`. Its materialization says what a run removed; each expired window is also
an observation on the table asset, so the window's own history shows when it went.
"""

import datetime as dt

import dagster as dg
from pydantic import Field

from etl_assets.compliance.retention import RetentionResult, expire_windows
from etl_assets.config.models import DatasetConfig
from etl_assets.defs.jobs import DATASET_TAG, dataset_pool
from etl_assets.defs.resources import ProjectHome, SnowflakeWarehouse
from etl_assets.errors import EtlAssetsError
from etl_assets.markdown import markdown_table

RETENTION_GROUP = "retention"
# 02:30 in the dataset's time zone: after the night's window has closed and loaded
RETENTION_CRON = "30 2 * * *"


class RetentionRunConfig(dg.Config):
    """Run config of a retention run."""

    dry_run: bool = Field(default=False, description="list what would be removed, change nothing, write no ledger row")


def retention_asset_key(dataset: DatasetConfig) -> dg.AssetKey:
    return dg.AssetKey(["retention", dataset.name])


def retention_job_name(dataset: DatasetConfig) -> str:
    return f"{dataset.name}_retention"


def build_retention(dataset: DatasetConfig):
    """The dataset's retention asset, its job and its daily schedule; only for a dataset with retention_days."""
    table_key = dg.AssetKey(dataset.asset_table_path)

    @dg.asset(
        key=retention_asset_key(dataset),
        group_name=RETENTION_GROUP,
        kinds={"snowflake"},
        # the dataset's pool: a retention run never overlaps a load of the same dataset
        pool=dataset_pool(dataset),
        description=f"Windows of {dataset.name} older than {dataset.compliance.retention_days} days, deleted from "
        f"{dataset.target_name}, its quarantine table, the lake and the archive.",
        output_required=False,
    )
    def retention(context: dg.AssetExecutionContext, config: RetentionRunConfig, project: ProjectHome, warehouse: SnowflakeWarehouse):
        """Delete the expired windows everywhere, one ledger row each; a dry run only lists them."""
        try:
            with warehouse.get_connection(dataset.warehouse.connection) as connection:
                result = expire_windows(dataset, project.paths, connection, dt.datetime.now(dt.UTC), context.run_id, config.dry_run)
        except EtlAssetsError as exc:
            # the message says what is left and what to do; the next daily run finishes what this one could not
            raise dg.Failure(description=f"Retention of {dataset.name} stopped: {exc}", allow_retries=False) from None
        for line in result.lines():
            context.log.info(line)
        metadata = retention_metadata(result)
        if result.dry_run:
            yield dg.AssetObservation(asset_key=context.asset_key, metadata=metadata)
            return
        for expired in result.windows:
            window_facts = {"removed_by": "retention", "detail": expired.detail, "rows_deleted": expired.table_rows}
            yield dg.AssetObservation(asset_key=table_key, partition=expired.key, metadata=window_facts)
        if result.windows:
            yield dg.MaterializeResult(metadata=metadata)

    job = dg.define_asset_job(
        name=retention_job_name(dataset),
        selection=dg.AssetSelection.assets(retention.key),
        # the run queue's limit per dataset (dagster.yaml) holds it back while the dataset's chain runs
        tags={DATASET_TAG: dataset.name},
        description=f"Deletes {dataset.name}'s windows older than {dataset.compliance.retention_days} days everywhere.",
    )
    schedule = dg.ScheduleDefinition(
        name=f"{dataset.name}_retention_schedule",
        job=job,
        cron_schedule=RETENTION_CRON,
        execution_timezone=dataset.partitions.timezone,
        # on by default: configuring retention_days is the request to delete
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Runs {dataset.name}'s retention daily at 02:30 {dataset.partitions.timezone}.",
    )
    return retention, job, schedule


def retention_metadata(result: RetentionResult) -> dict:
    """What the run removed (or would remove): windows, rows per table, files."""
    total = result.total
    rows = [(e.key, e.table_rows, e.quarantine_rows, len(e.lake_files), len(e.archived_files)) for e in result.windows]
    return {
        "dry_run": result.dry_run,
        "cutoff": dg.MetadataValue.timestamp(result.cutoff),
        "retention_days": result.retention_days,
        "windows": ", ".join(expired.key for expired in result.windows) or "(none)",
        "table_rows_deleted": total.table_rows,
        "quarantine_rows_deleted": total.quarantine_rows,
        "lake_files_removed": len(total.lake_files),
        "archived_files_removed": len(total.archived_files),
        "removed": dg.MetadataValue.md(
            markdown_table(["window", "table rows", "quarantine rows", "lake files", "archived files"], rows, align=["---", "---:", "---:", "---:", "---:"])
        ),
    }
