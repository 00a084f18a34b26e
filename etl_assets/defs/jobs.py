"""One job per dataset that runs its whole chain for the windows asked for."""

from __future__ import annotations

import dagster as dg

from etl_assets.config.models import DatasetConfig

DATASET_TAG = "etl_assets/dataset"


def dataset_pool(dataset: DatasetConfig) -> str:
    """The concurrency pool of the dataset's assets: dagster.yaml admits one run holding it at a time."""
    return f"etl_assets_{dataset.name}"


def build_dataset_job(dataset: DatasetConfig):
    """An asset job over the dataset's group; Definitions resolves it against the assets, whose partitions it takes."""
    return dg.define_asset_job(
        name=dataset.job_name,
        selection=dg.AssetSelection.groups(dataset.name),
        # the run queue runs one run per dataset at a time (its pool and this tag, dagster.yaml)
        tags={DATASET_TAG: dataset.name},
        description=f"uploads -> profiles -> scripts -> transformed -> Snowflake for {dataset.name}.",
    )
