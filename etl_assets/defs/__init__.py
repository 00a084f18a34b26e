"""The Dagster wiring: turns the config into assets, jobs, sensors and resources."""

from __future__ import annotations

import warnings

import dagster as dg

from etl_assets.config.models import ProjectConfig
from etl_assets.defs.alerts import build_alert_sensor
from etl_assets.defs.assets import build_dataset_assets
from etl_assets.defs.executors import executor_for_environment
from etl_assets.defs.freshness import build_freshness_sensor, build_window_deadline_check
from etl_assets.defs.jobs import build_dataset_job
from etl_assets.defs.marts import build_mart, mart_resources
from etl_assets.defs.pipes_messages import script_client
from etl_assets.credentials import FERNET_KEY_ENV
from etl_assets.credentials.environment import ENV_PROFILE
from etl_assets.warehouse.connections import LOCAL_CONNECTION
from etl_assets.defs.resources import CredentialsVault, LandingZones, ProjectHome, ScriptModels, SnowflakeWarehouse
from etl_assets.scriptgen.generate import uses_llm
from etl_assets.defs.schedules import build_window_schedule
from etl_assets.defs.retention import build_retention
from etl_assets.defs.sensors import build_upload_sensor


def vault_for(config: ProjectConfig) -> CredentialsVault:
    """The vault's key comes from ETL_ASSETS_FERNET_KEY, required only when a dataset loads through a stored profile,
    has its script written by a model whose credentials are one, reads S3 with credentials from the vault, or hashes
    columns with a key from it."""
    stored = {d.warehouse.connection for d in config.datasets.values()} - {LOCAL_CONNECTION, ENV_PROFILE}
    stored |= {d.transform.llm.credentials for d in config.datasets.values() if uses_llm(d) and d.transform.llm.credentials}
    s3_from_vault = any(d.source.is_s3 and (d.source.s3.credentials or d.source.s3.secret_access_key) for d in config.datasets.values())
    hashes = any(d.compliance.masked("hash") for d in config.datasets.values())  # its key is a vault secret
    return CredentialsVault(fernet_key=dg.EnvVar(FERNET_KEY_ENV)) if stored or s3_from_vault or hashes else CredentialsVault()


def build_definitions(config: ProjectConfig) -> dg.Definitions:
    """Every dataset's chain, job, upload sensor and schedule, every mart, with the embedded-default resources."""
    with warnings.catch_warnings():
        # every asset runs a range in one run (BackfillPolicy.single_run, in beta since Dagster 1.9): users would
        # otherwise read that warning once per asset from every `dagster` command that loads the definitions
        warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
        return _definitions(config)


def _definitions(config: ProjectConfig) -> dg.Definitions:
    assets, jobs, schedules, sensors, freshness_checks = [], [], [], [], []
    for dataset in config.datasets.values():
        assets += build_dataset_assets(dataset, config)
        if deadline_check := build_window_deadline_check(dataset):
            freshness_checks.append(deadline_check)
        job = build_dataset_job(dataset)
        jobs.append(job)
        sensors.append(build_upload_sensor(dataset, job.name))
        if dataset.schedule.enabled:
            schedules.append(build_window_schedule(dataset, job.name))
        if dataset.compliance.retention_days is not None:
            retention_asset, retention_job, retention_schedule = build_retention(dataset)
            assets.append(retention_asset)
            jobs.append(retention_job)
            schedules.append(retention_schedule)
    if freshness_sensor := build_freshness_sensor(freshness_checks):
        assets += freshness_checks  # checks are assets definitions to Definitions
        sensors.append(freshness_sensor)
    sensors.append(build_alert_sensor(config))
    warehouse = SnowflakeWarehouse(vault=vault_for(config))
    resources = {
        "project": ProjectHome(),
        "warehouse": warehouse,
        "pipes_subprocess_client": script_client(),
        "script_models": ScriptModels(vault=warehouse.vault),
        "landing_zones": LandingZones(vault=warehouse.vault),
    }
    assets += [build_mart(mart, config) for mart in config.marts.values()]
    resources |= mart_resources(config, warehouse)
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources=resources,
        # A dataset's chain is a straight line, so steps never run side by side within a run;
        # in-process saves a process start per step. Backfills stay parallel: one run per dataset.
        executor=executor_for_environment(),
    )
