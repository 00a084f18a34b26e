"""What the template renders: deterministic code, readable column lines, and clear refusals."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

from etl_assets.config.models import TransformConfig
from etl_assets.errors import ScriptError
from etl_assets.scriptgen.template import GENERATOR_VERSION, render_template_script
from etl_assets_tests.scriptgen.builders import ORDERS_SOURCE_TYPES, ORDERS_TRANSFORM

ALLOWED_SCRIPT_IMPORTS = {
    "argparse", "json", "os", "sys", "pathlib", "tempfile", "time", "duckdb", "pyarrow", "pyarrow.compute", "pyarrow.parquet",
    "dagster_pipes",
}


def _transform(columns: dict, deduplicate_on: list[str] | None = None) -> TransformConfig:
    return TransformConfig.model_validate({"columns": columns, "deduplicate_on": deduplicate_on or []})


def _constants(code: str) -> dict:
    """The module-level literal assignments of a rendered script."""
    constants = {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and not isinstance(node.value, ast.JoinedStr):
            constants[node.targets[0].id] = ast.literal_eval(node.value)
    return constants


def _render_orders() -> str:
    return render_template_script("orders", TransformConfig.model_validate(ORDERS_TRANSFORM), ORDERS_SOURCE_TYPES)


@pytest.mark.slow
def test_same_inputs_give_byte_identical_code_even_across_processes() -> None:
    program = (
        "import json, sys\n"
        "from etl_assets.config.models import TransformConfig\n"
        "from etl_assets.scriptgen.template import render_template_script\n"
        "transform, types = json.loads(sys.stdin.read())\n"
        "sys.stdout.write(render_template_script('orders', TransformConfig.model_validate(transform), types))\n"
    )
    payload = json.dumps([ORDERS_TRANSFORM, ORDERS_SOURCE_TYPES])
    rendered = [
        subprocess.run(
            [sys.executable, "-c", program],
            input=payload,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]

    assert rendered[0] == rendered[1] == _render_orders()


def test_orders_spec_renders_one_readable_line_per_column() -> None:
    constants = _constants(_render_orders())

    assert constants["DATASET"] == "orders"
    assert constants["TYPED_COLUMNS"] == [
        'TRY_CAST("order_id" AS BIGINT) AS "order_id"',
        'TRY_CAST(LOWER(TRIM("email")) AS VARCHAR) AS "email"',
        'TRY_CAST("order_date" AS DATE) AS "order_date"',
        'TRY_CAST("gross_amount" AS DECIMAL(12,2)) AS "gross_amount"',
        'TRY_CAST("discount" AS DECIMAL(12,2)) AS "discount"',
        'TRY_CAST(UPPER(TRIM("status")) AS VARCHAR) AS "status"',
    ]
    assert constants["OUTPUT_COLUMNS"] == [
        '"order_id"',
        '"email"',
        '"order_date"',
        '"gross_amount"',
        '"discount"',
        'TRY_CAST("gross_amount" - "discount" AS DECIMAL(12,2)) AS "net_amount"',
        '"status"',
    ]
    assert constants["DEDUPLICATE_ON"] == ['"order_id"']
    assert constants["REQUIRED_INPUT_COLUMNS"][-3:] == ["_source_file", "_source_row", "_arrived_at"]


def test_script_names_its_generator_and_imports_only_the_allowed_modules() -> None:
    code = _render_orders()
    imported = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)

    assert imported <= ALLOWED_SCRIPT_IMPORTS
    assert GENERATOR_VERSION in code.splitlines()[0]


def test_expression_reads_an_undeclared_source_column_typed_as_profiled() -> None:
    transform = _transform(
        {
            "order_id": {"from": "Order ID", "type": "integer"},
            "net": {"expr": 'COALESCE("Gross Amount", 0) - discount', "type": "float"},
            "late": {"expr": "_arrived_at > CAST('2026-11-20' AS TIMESTAMP)", "type": "boolean"},
        }
    )

    constants = _constants(render_template_script("orders", transform, ORDERS_SOURCE_TYPES))

    assert constants["TYPED_COLUMNS"] == [
        'TRY_CAST("order_id" AS BIGINT) AS "order_id"',
        'TRY_CAST("gross_amount" AS DECIMAL(12,2)) AS "gross_amount"',
        'TRY_CAST("discount" AS DECIMAL(12,2)) AS "discount"',
    ]
    assert constants["OUTPUT_COLUMNS"] == [
        '"order_id"',
        'TRY_CAST(COALESCE("gross_amount", 0) - "discount" AS DOUBLE) AS "net"',
        'TRY_CAST("_arrived_at" > CAST(\'2026-11-20\' AS TIMESTAMP) AS BOOLEAN) AS "late"',
    ]


def test_text_functions_on_a_non_string_source_read_it_as_text_first() -> None:
    transform = _transform({"code": {"from": "Order ID", "apply": ["trim"]}})

    constants = _constants(render_template_script("orders", transform, ORDERS_SOURCE_TYPES))

    assert constants["TYPED_COLUMNS"] == ['TRY_CAST(TRIM(CAST("order_id" AS VARCHAR)) AS VARCHAR) AS "code"']


def test_passthrough_lists_every_source_column_under_its_normalised_name() -> None:
    source_types = {"Customer ID": "integer", "Joined At": "timestamp"}

    constants = _constants(render_template_script("customers", None, source_types))

    assert constants["TYPED_COLUMNS"] == [
        'TRY_CAST("customer_id" AS BIGINT) AS "customer_id"',
        'TRY_CAST(TRY_CAST("joined_at" AS TIMESTAMPTZ) AS TIMESTAMP) AS "joined_at"',
    ]
    assert constants["OUTPUT_COLUMNS"] == ['"customer_id"', '"joined_at"']
    assert constants["DEDUPLICATE_ON"] == []


def test_lineage_columns_in_the_profile_are_not_treated_as_source_columns() -> None:
    source_types = {"customer_id": "integer", "_source_file": "string", "_arrived_at": "timestamp"}

    constants = _constants(render_template_script("customers", None, source_types))

    assert constants["OUTPUT_COLUMNS"] == ['"customer_id"']


def test_unknown_from_column_names_dataset_target_and_the_available_columns() -> None:
    transform = _transform({"email": {"from": "E-mail Address"}})

    with pytest.raises(ScriptError) as raised:
        render_template_script("orders", transform, ORDERS_SOURCE_TYPES)

    assert str(raised.value) == (
        "Dataset 'orders': the column 'email' reads from 'E-mail Address', which is not a source column; "
        "use one of order_id, email, order_date, gross_amount, discount, status in etl_config.yaml."
    )


def test_column_without_from_or_expr_must_exist_in_the_source() -> None:
    with pytest.raises(ScriptError, match="the column 'customer_id' reads from 'customer_id'"):
        render_template_script("orders", _transform({"customer_id": {"type": "integer"}}), ORDERS_SOURCE_TYPES)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("(SELECT max(gross_amount) FROM source)", "uses a subquery"),
        ("gross_amount IN (SELECT 1)", "uses a subquery"),
        ("shell_out(gross_amount)", "uses the unknown function SHELL_OUT()"),
        ("read_csv('/etc/passwd')", "uses the function READ_CSV()"),
        ("current_date", "uses the function CURRENT_DATE()"),
        ("gross_amount - discount; DROP TABLE orders", "must be exactly one expression, without ';'"),
        ("source.gross_amount", "only plain column names are allowed"),
        ("gross_amount -", "is not valid SQL"),
    ],
)
def test_expression_policy_rejects_anything_but_a_pure_scalar_expression(expression: str, reason: str) -> None:
    transform = _transform({"net_amount": {"expr": expression, "type": "decimal(12,2)"}})

    with pytest.raises(ScriptError) as raised:
        render_template_script("orders", transform, ORDERS_SOURCE_TYPES)

    message = str(raised.value)
    assert message.startswith("Dataset 'orders', column 'net_amount': the expression ")
    assert reason in message


def test_expression_reading_an_unknown_column_is_refused() -> None:
    transform = _transform({"net_amount": {"expr": "gross_amount - tax", "type": "float"}})

    expected = "the column 'net_amount' has an expression that reads 'tax', which is not a source column"
    with pytest.raises(ScriptError, match=expected):
        render_template_script("orders", transform, ORDERS_SOURCE_TYPES)


def test_target_named_like_a_lineage_column_is_refused() -> None:
    with pytest.raises(ScriptError, match="'_source_file' clashes with a lineage column"):
        render_template_script("orders", _transform({"_source_file": {"from": "Email"}}), ORDERS_SOURCE_TYPES)


def test_deduplicate_on_a_column_the_passthrough_does_not_have_is_refused() -> None:
    transform = TransformConfig.model_validate({"deduplicate_on": ["invoice_id"]})

    with pytest.raises(ScriptError, match=r"deduplicate_on names \['invoice_id'\], which are not output columns"):
        render_template_script("orders", transform, ORDERS_SOURCE_TYPES)


def test_profiled_type_the_template_does_not_know_is_refused() -> None:
    with pytest.raises(ScriptError, match="typed the source column 'Payload' as 'geometry'"):
        render_template_script("orders", None, {"Payload": "geometry"})
