"""A dataset's `freshness` as the Dagster freshness policy of its Snowflake table."""

from __future__ import annotations

import dagster as dg

from etl_assets.config.models import DatasetConfig


def freshness_policy_for(dataset: DatasetConfig) -> dg.FreshnessPolicy | None:
    """The table is late (warn) or overdue (fail) once its last load is older than the configured windows."""
    freshness = dataset.freshness
    if freshness is None:
        return None
    return dg.FreshnessPolicy.time_window(fail_window=freshness.fail_after, warn_window=freshness.warn_after)
