"""ETL_ASSETS_EXECUTOR picks every job's executor: in-process unless a deployment asks for a pod per step."""

from __future__ import annotations

import importlib.util
import sys
import types

import dagster as dg
import pytest

from etl_assets.defs.executors import EXECUTOR_ENV, executor_for_environment
from etl_assets.errors import ConfigError
from etl_assets_tests.defs.test_definitions import load_repo_definitions


def test_the_definitions_run_in_process_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    defs = load_repo_definitions(monkeypatch, tmp_path)
    assert defs.executor is dg.in_process_executor


def test_an_unknown_executor_names_the_allowed_ones(monkeypatch):
    monkeypatch.setenv(EXECUTOR_ENV, "multiprocess")
    with pytest.raises(ConfigError, match="ETL_ASSETS_EXECUTOR='multiprocess'.*use one of in_process, k8s_job"):
        executor_for_environment()


@pytest.mark.skipif(importlib.util.find_spec("dagster_k8s") is not None, reason="dagster-k8s is installed here")
def test_k8s_job_without_dagster_k8s_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv(EXECUTOR_ENV, "k8s_job")
    with pytest.raises(ConfigError, match=r"pip install 'etl_assets\[k8s\]'"):
        executor_for_environment()


def test_k8s_job_is_dagster_k8s_executor_when_installed(monkeypatch):
    # a stand-in module: the real dagster-k8s is an optional extra, not installed in the test environment
    stand_in = types.ModuleType("dagster_k8s")
    stand_in.k8s_job_executor = dg.executor(name="k8s")(lambda _context: None)
    monkeypatch.setitem(sys.modules, "dagster_k8s", stand_in)
    monkeypatch.setenv(EXECUTOR_ENV, "k8s_job")
    assert executor_for_environment() is stand_in.k8s_job_executor
