"""Rule mistakes are found by load_config (and so `etl-assets validate`) with file, dataset and field."""

from __future__ import annotations

import textwrap

import pytest

from etl_assets.config import ConfigFileError, load_config

CONFIG = """
datasets:
  customers:
    source: {{path: /x}}
    load: {{table: CUSTOMERS}}
  orders:
    source: {{path: /y}}
    transform:
      columns:
        order_id: {{from: Order ID, type: integer}}
        email: {{from: Email}}
        net: {{from: Net, type: float}}
    quality:
      - {rule}
    load: {{table: ORDERS}}
"""


def load(tmp_path, rule):
    path = tmp_path / "etl_config.yaml"
    path.write_text(textwrap.dedent(CONFIG.format(rule=rule)), encoding="utf-8")
    return load_config(path, environ={})


def problem(tmp_path, rule):
    with pytest.raises(ConfigFileError) as caught:
        load(tmp_path, rule)
    return str(caught.value).removeprefix(f"{tmp_path / 'etl_config.yaml'}: dataset 'orders', ")


@pytest.mark.parametrize(
    "rule",
    [
        r"{rule: regex, column: email, pattern: '^[^@\s]+@[^@\s]+\.[a-z]+$', action: quarantine}",
        "{rule: unique, columns: [order_id, _source_file]}",
        "{rule: references, column: order_id, dataset: customers, key: customer_id}",
        "{rule: range, column: net, min: 0, max: 0}",
        "{rule: schema, expected: {order_id: integer, _arrived_at: timestamp}}",
        "{rule: freshness, column: _arrived_at, max_age: 36h}",
    ],
)
def test_good_rules_load(tmp_path, rule):
    assert load(tmp_path, rule).datasets["orders"].quality[0].rule in rule


def test_a_regex_python_rejects(tmp_path):
    assert problem(tmp_path, "{rule: regex, column: email, pattern: '([a-z'}").startswith(
        "field 'quality[0].pattern': '([a-z' is not a valid regular expression ("
    )


def test_a_regex_only_duckdb_rejects(tmp_path):
    message = problem(tmp_path, "{rule: regex, column: email, pattern: '^(?!test)[a-z]+@'}")

    assert message.startswith("field 'quality[0].pattern': '^(?!test)[a-z]+@' is not valid in DuckDB's RE2 syntax (")
    assert message.endswith("rewrite it without lookarounds or backreferences.")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("{rule: not_null, column: emial}", "field 'quality[0].column': unknown column 'emial'"),
        ("{rule: unique, columns: [order_id, line]}", "field 'quality[0].columns': unknown column 'line'"),
        ("{rule: schema, expected: {total: float}}", "field 'quality[0].expected': unknown column 'total'"),
    ],
)
def test_unknown_columns_name_the_declared_ones(tmp_path, rule, expected):
    assert problem(tmp_path, rule) == f"{expected}; the transform declares email, net, order_id."


def test_min_greater_than_max(tmp_path):
    assert problem(tmp_path, "{rule: range, column: net, min: 10, max: 1}") == (
        "field 'quality[0].min': min 10 is greater than max 1; swap them."
    )
    assert problem(tmp_path, "{rule: row_count, min: 10, max: 1}") == (
        "field 'quality[0].min': min 10 is greater than max 1; swap them."
    )


def test_references_to_an_unknown_dataset(tmp_path):
    assert problem(tmp_path, "{rule: references, column: order_id, dataset: clients, key: id}") == (
        "field 'quality[0].dataset': no dataset named 'clients'; use one of customers, orders."
    )


def test_quarantine_on_a_window_level_rule(tmp_path):
    assert problem(tmp_path, "{rule: row_count, min: 1, action: quarantine}") == (
        "field 'quality[0]': action 'quarantine' needs a row-level rule, "
        "and row_count checks the whole window; use action: fail."
    )


def test_rule_fields_are_checked_per_rule_type(tmp_path):
    assert problem(tmp_path, "{rule: regex, column: email}") == "field 'quality[0].pattern': required but missing; add it."
    assert problem(tmp_path, "{rule: freshness, column: net, max_age: soon}") == (
        "field 'quality[0].max_age': got 'soon'; use a number and a unit such as 90m, 36h, 2d or 1w."
    )
    assert problem(tmp_path, "{rule: nope}").startswith("field 'quality[0].rule': got 'nope'; allowed: not_null, unique")


def test_columns_are_not_checked_without_declared_transform_columns(tmp_path):
    path = tmp_path / "etl_config.yaml"
    path.write_text(
        "datasets:\n  raw:\n    source: {path: /x}\n    quality: [{rule: not_null, column: anything}]\n"
        "    load: {table: RAW}\n",
        encoding="utf-8",
    )

    assert load_config(path, environ={}).datasets["raw"].quality[0].column == "anything"
