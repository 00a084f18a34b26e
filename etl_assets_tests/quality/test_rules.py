"""Check names and one-line descriptions of rules."""

from __future__ import annotations

from etl_assets.quality.rules import check_name, check_names, describe
from etl_assets_tests.quality.conftest import rules


def test_names_are_rule_and_columns():
    named = rules(
        {"rule": "not_null", "column": "order_id"},
        {"rule": "unique", "columns": ["order_id", "line"]},
        {"rule": "duplicates", "column": "email"},
        {"rule": "row_count", "min": 1},
        {"rule": "schema", "expected": {"order_id": "integer"}},
        {"rule": "freshness", "column": "order_date", "max_age": "36h"},
    )

    assert [check_name(rule) for rule in named] == [
        "not_null_order_id", "unique_order_id_line", "duplicates_email", "row_count", "schema", "freshness_order_date"
    ]


def test_names_are_made_unique_within_a_dataset():
    named = rules(
        {"rule": "range", "column": "amount", "min": 0},
        {"rule": "range", "column": "amount", "max": 10},
        {"rule": "range", "column": "amount", "max": 20},
    )

    assert check_names(named) == ["range_amount", "range_amount_2", "range_amount_3"]


def test_descriptions_read_as_one_line():
    described = rules(
        {"rule": "regex", "column": "email", "pattern": r"^[^@\s]+@"},
        {"rule": "range", "column": "net", "min": 0, "max": 100},
        {"rule": "accepted_values", "column": "status", "values": ["a", "b", "c", "d", "e", "f", "g"]},
        {"rule": "references", "column": "customer_id", "dataset": "customers", "key": "id"},
        {"rule": "not_null", "column": "x", "description": "Every order has an id"},
        {"rule": "row_count", "min": 1},
    )

    assert [describe(rule) for rule in described] == [
        r"email matches ^[^@\s]+@",
        "net between 0 and 100",
        "status is one of a, b, c, d, e and 2 more",
        "customer_id exists in customers.id",
        "Every order has an id",
        "the window has >= 1 rows",
    ]
