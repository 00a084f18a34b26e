"""Which executor every job runs with, chosen by ETL_ASSETS_EXECUTOR (docs/scaling.md)."""

from __future__ import annotations

import os

import dagster as dg

from etl_assets.errors import ConfigError

EXECUTOR_ENV = "ETL_ASSETS_EXECUTOR"
IN_PROCESS = "in_process"
K8S_JOB = "k8s_job"
ALLOWED = (IN_PROCESS, K8S_JOB)


def executor_for_environment() -> dg.ExecutorDefinition:
    """in_process by default (docs/architecture.md §5); k8s_job puts each step in its own pod for a large backfill."""
    name = os.environ.get(EXECUTOR_ENV, "").strip() or IN_PROCESS
    if name == IN_PROCESS:
        return dg.in_process_executor
    if name == K8S_JOB:
        return _k8s_job_executor()
    raise ConfigError(f"{EXECUTOR_ENV}={name!r} is not an executor this project knows: use one of {', '.join(ALLOWED)}.")


def _k8s_job_executor() -> dg.ExecutorDefinition:
    try:
        # imported only when asked: dagster-k8s pulls the kubernetes client, so it is an optional extra
        from dagster_k8s import k8s_job_executor
    except ImportError as missing:
        raise ConfigError(f"{EXECUTOR_ENV}={K8S_JOB} needs dagster-k8s, which is not installed: pip install 'etl_assets[k8s]'.") from missing
    return k8s_job_executor
