"""A template script run by Dagster's Pipes subprocess client reports its counts as a custom message."""

import sys
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import TransformConfig
from etl_assets.scriptgen.template import render_template_script
from etl_assets_tests.scriptgen.builders import ORDERS_SOURCE_TYPES, ORDERS_TRANSFORM, arrival, save_code, write_upload
from etl_assets.defs.pipes_messages import script_client

pytestmark = pytest.mark.integration


def test_script_under_pipes_reports_counts_and_logs_instead_of_printing(tmp_path: Path) -> None:
    code = render_template_script("orders", TransformConfig.model_validate(ORDERS_TRANSFORM), ORDERS_SOURCE_TYPES)
    script = save_code(tmp_path, code)
    rows = [
        {"order_id": "1", "email": "a@x.io", "_source_file": "a.csv", "_source_row": 2, "_arrived_at": arrival(8)},
        {"order_id": "1", "email": "b@x.io", "_source_file": "b.csv", "_source_row": 2, "_arrived_at": arrival(9)},
    ]
    headers = ["order_id", "email", "order_date", "gross_amount", "discount", "status"]
    upload = write_upload(tmp_path / "in.parquet", rows, headers)
    output = tmp_path / "out.parquet"
    reported: list = []

    @dg.asset
    def transformed(context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient):
        invocation = pipes_subprocess_client.run(
            command=[sys.executable, str(script), "--input", str(upload), "--output", str(output)], context=context
        )
        reported.extend(invocation.get_custom_messages())
        return dg.MaterializeResult(metadata=reported[0])

    result = dg.materialize(
        [transformed],
        resources={"pipes_subprocess_client": script_client()},
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    assert reported == [{"rows_in": 2, "rows_out": 1, "rows_deduplicated": 1}]
    assert pq.read_table(output).column("email").to_pylist() == ["b@x.io"]
    materialization = result.asset_materializations_for_node("transformed")[0]
    assert materialization.metadata["rows_out"].value == 1


def test_a_ranges_quick_windows_share_log_lines_while_each_reports_its_counts(tmp_path: Path) -> None:
    # each log line is a write to the run's event log; a year of small windows would write 365 of them
    code = render_template_script("orders", TransformConfig.model_validate(ORDERS_TRANSFORM), ORDERS_SOURCE_TYPES)
    script = save_code(tmp_path, code)
    headers = ["order_id", "email", "order_date", "gross_amount", "discount", "status"]
    windows = [f"2026-01-{day:02d}" for day in range(1, 31)]
    command = [sys.executable, str(script)]
    for n, window in enumerate(windows):
        rows = [{"order_id": str(n * 10 + i), "_source_file": "a.csv", "_source_row": i + 2, "_arrived_at": arrival(8)} for i in range(n % 3 + 1)]
        upload = write_upload(tmp_path / f"in_{window}.parquet", rows, headers)
        command += ["--window", window, "--input", str(upload), "--output", str(tmp_path / f"out_{window}.parquet")]
    reported: list = []

    @dg.asset
    def transformed(context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient):
        reported.extend(pipes_subprocess_client.run(command=command, context=context).get_custom_messages())
        return dg.MaterializeResult()

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([transformed], resources={"pipes_subprocess_client": script_client()}, instance=instance)

    assert result.success
    assert [counts["window"] for counts in reported] == windows
    assert [counts["rows_in"] for counts in reported] == [n % 3 + 1 for n in range(30)]
    lines = [entry.user_message for entry in instance.all_logs(result.run_id) if entry.dagster_event is None and entry.user_message.startswith("orders 2026")]
    assert 1 <= len(lines) < len(windows)
    # the lines cover every window once, in order, with every row
    assert lines[0].startswith("orders 2026-01-01") and "2026-01-30" in lines[-1]
    covered = sum(int(line.split(" windows)")[0].rsplit("(", 1)[1]) if " windows)" in line else 1 for line in lines)
    assert covered == len(windows)
    assert sum(int(line.split(": ")[1].split(" rows in")[0]) for line in lines) == sum(n % 3 + 1 for n in range(30))
