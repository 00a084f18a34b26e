"""The orders chain with `generator: llm` and the scripted model, into the real emulator: the model's script loads
the rows; a model that never writes a usable script falls back to the template, says so, and the rows still load."""

from __future__ import annotations

import datetime as dt
import json

from decimal import Decimal

import dagster as dg
import pytest

from etl_assets_tests.defs.conftest import ChainProject, project_with
from etl_assets_tests.defs.test_chain import orders_in_warehouse, run_chain
from etl_assets_tests.scriptgen.llm_replies import script_with_shape

pytestmark = pytest.mark.integration

DAY1 = dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC)
ORDERS_SHAPE = '''    return source.project(
        'TRY_CAST(trim(order_id) AS BIGINT) AS order_id, lower(trim(email)) AS email, '
        'lower(trim(status)) AS status, TRY_CAST(gross_amount AS DECIMAL(12,2)) AS gross_amount, '
        'TRY_CAST(discount AS DECIMAL(12,2)) AS discount, '
        'CAST(TRY_CAST(gross_amount AS DECIMAL(12,2)) - TRY_CAST(discount AS DECIMAL(12,2)) AS DECIMAL(12,2)) AS net_amount, '
        '_source_file, _source_row, _arrived_at'
    )'''
NEVER_WORKS = script_with_shape('''    return source.project('order_number AS order_id, _source_file, _source_row, _arrived_at')''')


def llm_project(tmp_path, monkeypatch, replies: list[str]) -> ChainProject:
    (tmp_path / "replies.json").write_text(json.dumps(replies))
    return project_with(
        tmp_path,
        monkeypatch,
        """
              orders:
                source: {path: "{home}/landing/orders", pattern: "*.csv", format: csv}
                transform:
                  generator: llm
                  llm: {provider: scripted, responses_file: replies.json}
                  requirements: Lower-case emails and statuses; net = gross - discount
                  columns:
                    order_id: {from: Order ID, type: integer}
                    email: {from: Email, apply: [trim, lower]}
                    status: {from: Status, apply: [trim, lower]}
                    gross_amount: {from: Gross Amount, type: "decimal(12,2)"}
                    discount: {from: Discount, type: "decimal(12,2)"}
                    net_amount: {expr: "gross_amount - discount", type: "decimal(12,2)"}
                load: {table: ORDERS, strategy: merge, keys: [order_id]}
        """,
    )


def script_metadata(result: dg.ExecuteInProcessResult) -> dict:
    materialization = next(m for m in result.asset_materializations_for_node("scripts__orders"))
    return {key: value.value for key, value in materialization.metadata.items()}


def test_the_models_script_loads_the_rows(tmp_path, monkeypatch, warehouse_home, warehouse_connection):
    project = llm_project(tmp_path, monkeypatch, [script_with_shape(ORDERS_SHAPE)])
    project.land("orders", "orders_day1.csv", DAY1)

    result = run_chain(project, warehouse_home, "orders", "2026-11-19", "2026-11-19")

    assert result.success
    metadata = script_metadata(result)
    assert metadata["generator"] == "llm (scripted replies.json)" and "fallback_reason" not in metadata
    assert "lower(trim(email)) AS email" in metadata["code"]
    rows = orders_in_warehouse(warehouse_connection)
    assert rows[5001][:3] == ("alice.martin@example.com", "paid", Decimal("110.00"))


def test_a_model_that_never_works_falls_back_to_the_template_and_the_rows_still_load(tmp_path, monkeypatch, warehouse_home, warehouse_connection):
    project = llm_project(tmp_path, monkeypatch, [NEVER_WORKS])
    project.land("orders", "orders_day1.csv", DAY1)

    result = run_chain(project, warehouse_home, "orders", "2026-11-19", "2026-11-19")

    assert result.success
    metadata = script_metadata(result)
    assert metadata["generator"].startswith("template (fallback: no usable script after 2 repairs")
    assert "rendered by etl_assets template-" in metadata["code"]
    rows = orders_in_warehouse(warehouse_connection)
    assert rows[5001][0] == "alice.martin@example.com"
