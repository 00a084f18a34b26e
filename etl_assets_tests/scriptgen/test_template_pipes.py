"""A template script run by Dagster's Pipes subprocess client reports its counts as a custom message."""

import sys
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import TransformConfig
from etl_assets.scriptgen.template import render_template_script
from etl_assets_tests.scriptgen.builders import ORDERS_SOURCE_TYPES, ORDERS_TRANSFORM, arrival, save_code, write_upload

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
        resources={"pipes_subprocess_client": dg.PipesSubprocessClient()},
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    assert reported == [{"rows_in": 2, "rows_out": 1, "rows_deduplicated": 1}]
    assert pq.read_table(output).column("email").to_pylist() == ["b@x.io"]
    materialization = result.asset_materializations_for_node("transformed")[0]
    assert materialization.metadata["rows_out"].value == 1
