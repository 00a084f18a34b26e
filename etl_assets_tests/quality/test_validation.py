"""Rule mistakes are found by load_config (and so `etl-assets validate`) with file, dataset and field."""

from __future__ import annotations

import textwrap

import pytest

from etl_assets.config.loader import load_config
from etl_assets.config.problems import ConfigFileError

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
    assert problem(tmp_path, "{rule: nope}").startswith("field 'quality[0].rule': got 'nope'; allowed: accepted_values, freshness")


def test_columns_are_not_checked_without_declared_transform_columns(tmp_path):
    path = tmp_path / "etl_config.yaml"
    path.write_text(
        "datasets:\n  raw:\n    source: {path: /x}\n    quality: [{rule: not_null, column: anything}]\n"
        "    load: {table: RAW}\n",
        encoding="utf-8",
    )

    assert load_config(path, environ={}).datasets["raw"].quality[0].column == "anything"


TYPED = """
datasets:
  orders:
    source: {{path: /y}}
    transform:
      columns:
        order_id: {{from: Order ID, type: integer}}
        email: {{from: Email}}
        net: {{from: Net, type: "decimal(12,2)"}}
        ordered: {{from: Ordered, type: date}}
        paid_at: {{from: Paid At, type: timestamp}}
        gift: {{from: Gift, type: boolean}}
    quality:
      - {rule}
    load: {{table: ORDERS}}
"""


def typed_problem(tmp_path, rule):
    path = tmp_path / "etl_config.yaml"
    path.write_text(textwrap.dedent(TYPED.format(rule=rule)), encoding="utf-8")
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, environ={})
    return caught.value


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "{rule: range, column: order_id, min: 'a', max: 10}",
            "field 'quality[0].min': min 'a' is text, but column 'order_id' is integer; "
            "give a number such as 0 or 9.5, without quotes.",
        ),
        (
            "{rule: range, column: net, max: '100'}",
            "field 'quality[0].max': max '100' is text, but column 'net' is decimal(12,2); "
            "give a number such as 0 or 9.5, without quotes.",
        ),
        (
            "{rule: range, column: order_id, max: 1.5e6}",
            "field 'quality[0].max': max '1.5e6' is text, but column 'order_id' is integer; "
            "YAML reads 1.5e6 as text, so write its exponent with a sign, such as 1.5e+6.",
        ),
        (
            "{rule: range, column: ordered, min: 5}",
            "field 'quality[0].min': min 5 is a number, but column 'ordered' is date; "
            "give a date such as 2026-01-01 or a time such as 2026-01-01T06:00, without quotes.",
        ),
        (
            "{rule: range, column: paid_at, max: 'yesterday'}",
            "field 'quality[0].max': max 'yesterday' is text, but column 'paid_at' is timestamp; "
            "give a date such as 2026-01-01 or a time such as 2026-01-01T06:00, without quotes.",
        ),
        (
            "{rule: range, column: email, min: 0}",
            "field 'quality[0].min': min 0 is a number, but column 'email' is string; give text, in quotes.",
        ),
        (
            "{rule: range, column: _source_row, min: x}",
            "field 'quality[0].min': min 'x' is text, but column '_source_row' is integer; "
            "give a number such as 0 or 9.5, without quotes.",
        ),
        (
            "{rule: range, column: gift, min: 0, max: 1}",
            "field 'quality[0].column': column 'gift' is boolean, which has no range; "
            "use accepted_values, or a range on a number, date, timestamp or string column.",
        ),
    ],
)
def test_range_bounds_must_be_comparable_with_the_declared_type(tmp_path, rule, expected):
    error = typed_problem(tmp_path, rule)

    assert error.details == [f"{tmp_path / 'etl_config.yaml'}: dataset 'orders', {expected}"]


def test_each_bad_range_bound_is_named(tmp_path):
    error = typed_problem(tmp_path, "{rule: range, column: order_id, min: 'a', max: 'z'}")

    assert [detail.split("dataset 'orders', ")[1][:22] for detail in error.details] == [
        "field 'quality[0].min'", "field 'quality[0].max'"
    ]


@pytest.mark.parametrize(
    "rule",
    [
        "{rule: range, column: order_id, min: 0, max: 1.5e+6}",
        "{rule: range, column: net, min: -1}",
        "{rule: range, column: ordered, min: 2026-01-01, max: 2026-12-31T00:00:00}",
        "{rule: range, column: paid_at, min: 2026-01-01 06:00:00}",
        "{rule: range, column: email, min: a, max: 'n'}",
        "{rule: range, column: _arrived_at, min: 2026-01-01}",
    ],
)
def test_range_bounds_of_the_declared_type_load(tmp_path, rule):
    path = tmp_path / "etl_config.yaml"
    path.write_text(textwrap.dedent(TYPED.format(rule=rule)), encoding="utf-8")

    assert load_config(path, environ={}).datasets["orders"].quality[0].rule == "range"
