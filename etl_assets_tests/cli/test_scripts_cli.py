"""`etl-assets scripts generate`: the script workflow for one window, run outside Dagster by the real command."""

from __future__ import annotations

import json

import pytest

from etl_assets.lake import stage_paths
from etl_assets.paths import ProjectPaths
from etl_assets.profiling.profiler import profile_parquet, write_profile
from etl_assets_tests.project_config import write_project_config
from etl_assets_tests.scriptgen.llm_replies import GOOD, POLICY_BREAKING, SIGNUPS_TRANSFORM, signups_upload

pytestmark = pytest.mark.integration

WINDOW = "2026-11-20"


@pytest.fixture
def signups_cli(cli, tmp_path):
    """The cli with a config of one llm dataset, `signups`, replayed from replies.json."""
    columns = json.dumps(SIGNUPS_TRANSFORM["columns"])
    config = write_project_config(
        tmp_path / "etl_config.yaml",
        f"""
          signups:
            source: {{path: "{cli.home}/landing/signups"}}
            transform:
              generator: llm
              llm: {{provider: scripted, responses_file: replies.json}}
              columns: {columns}
            load: {{table: SIGNUPS}}
        """,
    )
    cli.env["ETL_ASSETS_CONFIG"] = str(config)
    return cli


def profiled_window(home, replies: list[str]) -> None:
    (home.parent / "replies.json").write_text(json.dumps(replies))
    stage = stage_paths(ProjectPaths(home), "signups", WINDOW)
    stage.upload.parent.mkdir(parents=True, exist_ok=True)
    signups_upload(stage.upload)
    stage.profile.parent.mkdir(parents=True, exist_ok=True)
    write_profile(profile_parquet(stage.upload), stage.profile)


def test_generate_prints_each_node_the_outcome_and_the_saved_script(signups_cli):
    profiled_window(signups_cli.home, [POLICY_BREAKING, GOOD])

    done = signups_cli.run("scripts", "generate", "--dataset", "signups", "--window", WINDOW)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0].strip() for line in lines[:4]] == ["init", "generate", "validate", "repair"]
    assert "line 1: import of 'os' is not allowed" in done.stdout
    assert f"signups {WINDOW}: llm scripted replies.json, after 1 repair(s); saved to" in done.stdout
    saved = signups_cli.home / "generated_scripts" / "signups" / lines[-1].rsplit("/", 1)[-1]
    assert saved.is_file() and "import os" not in saved.read_text()


def test_a_dry_run_runs_every_node_and_saves_nothing(signups_cli):
    profiled_window(signups_cli.home, [GOOD])

    done = signups_cli.run("scripts", "generate", "--dataset", "signups", "--window", WINDOW, "--dry-run")

    assert done.returncode == 0, done.stderr
    assert "dry_run: passed" in done.stdout and "not saved (dry run)" in done.stdout
    assert not list((signups_cli.home / "generated_scripts").rglob("*.py"))


def test_a_window_not_yet_profiled_is_one_sentence_saying_what_to_run(signups_cli):
    done = signups_cli.run("scripts", "generate", "--dataset", "signups", "--window", WINDOW)

    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"error: Window {WINDOW} of signups has no profiled upload yet; materialize it first: dagster asset materialize "
        f"-m etl_assets.definitions --select 'uploads/signups profiles/signups' --partition {WINDOW}"
    )
