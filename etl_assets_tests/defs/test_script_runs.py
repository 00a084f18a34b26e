"""A run's windows go through one script process per script, each window's counts reported on its own."""

from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import TransformConfig
from etl_assets.defs.script_runs import run_script_group, script_groups
from etl_assets.lake import StagePaths, stage_paths
from etl_assets.paths import ProjectPaths
from etl_assets.scriptgen.store import save_script
from etl_assets.scriptgen.template import GENERATOR_VERSION, render_template_script
from etl_assets_tests.scriptgen.builders import ORDERS_SOURCE_TYPES, ORDERS_TRANSFORM, arrival, orders_dataset, write_upload
from etl_assets.defs.pipes_messages import script_client

pytestmark = pytest.mark.integration

HEADERS = ["order_id", "email", "order_date", "gross_amount", "discount", "status"]
ROW = {"order_id": "1", "email": "a@x.io", "_source_file": "a.csv", "_source_row": 2, "_arrived_at": arrival(8)}
WINDOWS = ["2026-11-18", "2026-11-19", "2026-11-20"]


def windows_with_script(home: Path, generator_version: str = GENERATOR_VERSION, code_suffix: str = "") -> list[StagePaths]:
    """Three windows (one row, none, one row) whose pointers name one saved orders script."""
    code = render_template_script("orders", TransformConfig.model_validate(ORDERS_TRANSFORM), ORDERS_SOURCE_TYPES)
    script = save_script(
        home / "scripts", "orders", code + code_suffix, inputs_hash="x", generator="template", generator_version=generator_version
    )
    windows = []
    for key, rows in zip(WINDOWS, [[ROW], [], [ROW]], strict=True):
        paths = stage_paths(ProjectPaths(home), "orders", key)
        paths.upload.parent.mkdir(parents=True, exist_ok=True)
        write_upload(paths.upload, rows, HEADERS)
        paths.write_script_pointer(script)
        windows.append(paths)
    return windows


def run_groups(windows: list[StagePaths], sandbox: dict | None = None) -> tuple[dg.ExecuteInProcessResult, dict, int]:
    """Run the windows' script groups in one asset; the result, each window's counts and the Pipes sessions opened."""
    counts: dict = {}
    dataset = orders_dataset({**ORDERS_TRANSFORM, "sandbox": sandbox or {}})

    @dg.asset
    def transformed(context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient):
        for group in script_groups(windows):
            counts.update(run_script_group(context, pipes_subprocess_client, dataset, group))
        return dg.MaterializeResult()

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [transformed],
        resources={"pipes_subprocess_client": script_client()},
        instance=instance,
        raise_on_error=False,
    )
    sessions = sum("successfully opened dagster pipes" in entry.user_message for entry in instance.all_logs(result.run_id))
    return result, counts, sessions


def test_windows_sharing_a_script_run_in_one_process_and_report_each(tmp_path: Path) -> None:
    windows = windows_with_script(tmp_path)

    result, counts, sessions = run_groups(windows)

    assert result.success
    assert sessions == 1
    assert counts == {
        "2026-11-18": {"rows_in": 1, "rows_out": 1, "rows_deduplicated": 0},
        "2026-11-19": {"rows_in": 0, "rows_out": 0, "rows_deduplicated": 0},
        "2026-11-20": {"rows_in": 1, "rows_out": 1, "rows_deduplicated": 0},
    }
    assert pq.read_schema(windows[1].transformed) == pq.read_schema(windows[0].transformed)


def test_a_failing_window_is_named_in_the_step_failure(tmp_path: Path) -> None:
    windows = windows_with_script(tmp_path)
    windows[1].upload.write_text("not parquet")

    result, _, _ = run_groups(windows)

    assert not result.success
    failure = next(event for event in result.all_events if event.event_type_value == "STEP_FAILURE")
    assert "The orders script failed on window 2026-11-19" in failure.step_failure_data.error.to_string()
    assert windows[0].transformed.exists() and not windows[2].transformed.exists()


def test_a_script_of_the_single_pair_contract_runs_each_window_alone(tmp_path: Path) -> None:
    # A template-1 script overwrites a repeated --input instead of refusing it, so it must never get two.
    windows = windows_with_script(tmp_path, generator_version="template-1", code_suffix="# template-1\n")

    assert [[paths.window_key for paths in group] for group in script_groups(windows)] == [[key] for key in WINDOWS]
    result, counts, sessions = run_groups(windows)
    assert result.success and sessions == 3
    assert counts["2026-11-20"]["rows_out"] == 1


def test_a_script_past_its_time_limit_fails_the_step_with_the_limit_named(tmp_path: Path) -> None:
    # the script reports every window, then hangs: only the sandbox's wall clock ends it
    windows = windows_with_script(tmp_path, code_suffix="\nwhile True:\n    pass\n")

    result, _, _ = run_groups(windows, sandbox={"timeout_seconds": 1})

    assert not result.success
    failure = next(event for event in result.all_events if event.event_type_value == "STEP_FAILURE")
    assert (
        "ScriptError: The orders script was stopped after its 3 s time limit (transform.sandbox.timeout_seconds, 1 s for each of "
        "its 3 windows); raise it or make the script faster."
    ) in failure.step_failure_data.error.to_string()
