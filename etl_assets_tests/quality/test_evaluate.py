"""Every rule type evaluated in DuckDB on real Parquet windows, passing and failing."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.quality.evaluate import MAX_EXAMPLES, evaluate_window
from etl_assets.quality.rule_types.regex import regex_problem
from etl_assets.quality.rules import check_names
from etl_assets_tests.quality.conftest import rules

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def evaluate(path, *raw, references=None, now=NOW):
    parsed = rules(*raw)
    return evaluate_window(path, parsed, names=check_names(parsed), references=references or {}, now=now)


def only(path, raw, **kwargs):
    return evaluate(path, raw, **kwargs).outcomes[0]


def test_not_null_fails_with_examples_that_name_source_file_and_row(window):
    path = window({"order_id": [1, None, 3, None]})

    outcome = only(path, {"rule": "not_null", "column": "order_id"})

    assert (outcome.name, outcome.passed, outcome.failing_count, outcome.failing_percent) == (
        "not_null_order_id", False, 2, 50.0
    )
    assert outcome.examples == [
        {"order_id": None, "_source_file": "orders_0301.csv", "_source_row": 3},
        {"order_id": None, "_source_file": "orders_0301.csv", "_source_row": 5},
    ]


def test_not_null_passes_within_max_null_percent(window):
    path = window({"order_id": [1, None, 3, 4]})

    assert only(path, {"rule": "not_null", "column": "order_id", "max_null_percent": 25}).passed
    assert not only(path, {"rule": "not_null", "column": "order_id", "max_null_percent": 24.9}).passed


def test_unique_counts_every_row_of_a_repeated_composite_key(window):
    path = window({"order_id": [1, 1, 1, 2, None, None], "line": [1, 1, 2, 1, 1, 1]})

    composite = only(path, {"rule": "unique", "columns": ["order_id", "line"]})
    single = only(path, {"rule": "duplicates", "column": "order_id", "max_duplicate_percent": 50})

    assert (composite.passed, composite.failing_count) == (False, 2)
    assert [(e["order_id"], e["line"], e["_source_row"]) for e in composite.examples] == [(1, 1, 2), (1, 1, 3)]
    assert (single.passed, single.failing_count, single.failing_percent) == (True, 3, 50.0)


def test_unique_passes_on_distinct_keys(window):
    assert only(window({"order_id": [1, 2, 3]}), {"rule": "unique", "columns": ["order_id"]}).passed


def test_regex_flags_non_matching_values_but_not_nulls(window):
    path = window({"email": ["a@b.com", "nope", None, "c@d.org", "x@y"]})

    outcome = only(path, {"rule": "regex", "column": "email", "pattern": r"^[^@\s]+@[^@\s]+\.[a-z]+$"})

    assert (outcome.passed, outcome.failing_count) == (False, 2)
    assert [example["email"] for example in outcome.examples] == ["nope", "x@y"]
    assert only(window({"email": ["a@b.com"]}, name="ok.parquet"), {"rule": "regex", "column": "email", "pattern": "@"}).passed


def test_range_is_inclusive_on_decimals_and_dates(window):
    amounts = pa.array([decimal.Decimal(v) for v in ("0.00", "10.50", "-0.01", "100.00", "100.01")], pa.decimal128(12, 2))
    dates = pa.array([dt.date(2026, 1, d) for d in (1, 2, 3, 4, 31)])
    path = window(pa.table({"net": amounts, "day": dates}))

    net = only(path, {"rule": "range", "column": "net", "min": 0, "max": 100})
    day = only(path, {"rule": "range", "column": "day", "max": dt.date(2026, 1, 4)})

    assert (net.passed, net.failing_count) == (False, 2)
    assert [example["net"] for example in net.examples] == ["-0.01", "100.01"]
    assert (day.failing_count, day.examples[0]["day"]) == (1, "2026-01-31")
    assert only(path, {"rule": "range", "column": "net", "min": -1, "max": 200}).passed


def test_accepted_values(window):
    path = window({"status": ["paid", "shipped", "lost", None]})

    outcome = only(path, {"rule": "accepted_values", "column": "status", "values": ["paid", "shipped"]})

    assert (outcome.passed, outcome.failing_count, outcome.examples[0]["status"]) == (False, 1, "lost")
    assert only(path, {"rule": "accepted_values", "column": "status", "values": ["paid", "shipped", "lost"]}).passed


def test_references_against_an_arrow_table(window):
    path = window({"customer_id": [1, 2, 9, None]})
    rule = {"rule": "references", "column": "customer_id", "dataset": "customers", "key": "id"}

    failing = only(path, rule, references={("customers", "id"): pa.table({"id": [1, 2, 3]})})
    passing = only(path, rule, references={("customers", "id"): pa.table({"id": [1, 2, 9, None]})})

    assert (failing.passed, failing.failing_count, failing.examples[0]["customer_id"]) == (False, 1, 9)
    assert passing.passed


def test_references_against_parquet_files(window, tmp_path):
    path = window({"customer_id": [1, 2, 3, 4]})
    first, second = tmp_path / "c1.parquet", tmp_path / "c2.parquet"
    pq.write_table(pa.table({"customer_id": [1, 2], "name": ["a", "b"]}), first)
    pq.write_table(pa.table({"customer_id": [3]}), second)
    rule = {"rule": "references", "column": "customer_id", "dataset": "customers", "key": "customer_id"}

    one_file = only(path, rule, references={("customers", "customer_id"): first})
    two_files = only(path, rule, references={("customers", "customer_id"): [first, second]})

    assert (one_file.passed, one_file.failing_count) == (False, 2)
    assert (two_files.passed, two_files.failing_count) == (False, 1)


def test_references_without_reference_data_fails_every_value(window):
    path = window({"customer_id": [1, None]})

    outcome = only(path, {"rule": "references", "column": "customer_id", "dataset": "customers", "key": "id"})

    assert (outcome.passed, outcome.failing_count) == (False, 1)
    assert "no data of customers" in outcome.detail


def test_row_count(window):
    path = window({"a": [1, 2, 3]})

    assert only(path, {"rule": "row_count", "min": 3, "max": 3}).passed
    too_few = only(path, {"rule": "row_count", "min": 4})
    assert (too_few.passed, too_few.detail) == (False, "3 rows; the window has >= 4 rows")
    assert not only(path, {"rule": "row_count", "max": 2}).passed


def test_schema_accepts_compatible_arrow_types_and_names_mismatches(window):
    path = window(pa.table({
        "id": pa.array([1], pa.int32()),
        "name": pa.array(["x"], pa.large_string()),
        "net": pa.array([decimal.Decimal("1.00")], pa.decimal128(12, 2)),
        "at": pa.array([dt.datetime(2026, 1, 1)], pa.timestamp("ns")),
    }))
    expected = {"id": "integer", "name": "string", "net": "decimal(12,2)", "at": "timestamp", "_source_row": "integer"}

    assert only(path, {"rule": "schema", "expected": expected}).passed
    wrong = only(path, {"rule": "schema", "expected": {"id": "string", "net": "decimal(10,2)", "gone": "date"}})
    assert (wrong.passed, wrong.failing_count) == (False, 3)
    assert wrong.detail == "id is int32, expected string; net is decimal128(12, 2), expected decimal(10,2); gone is missing"


def test_freshness_against_a_fixed_now(window):
    path = window({
        "day": pa.array([dt.date(2026, 2, 27), dt.date(2026, 3, 1)]),
        "at": pa.array([dt.datetime(2026, 3, 1, 0, 0), dt.datetime(2026, 3, 2, 1, 0)], pa.timestamp("us")),
    })

    assert only(path, {"rule": "freshness", "column": "day", "max_age": "36h"}).passed
    assert only(path, {"rule": "freshness", "column": "day", "max_age": "12h"}).passed, "a date counts as its day's end"
    assert not only(path, {"rule": "freshness", "column": "day", "max_age": "11h"}).passed
    assert only(path, {"rule": "freshness", "column": "at", "max_age": "11h"}).passed
    assert not only(path, {"rule": "freshness", "column": "at", "max_age": "10h"}).passed
    assert only(path, {"rule": "freshness", "column": "_arrived_at", "max_age": "2d"}).passed
    assert not only(path, {"rule": "freshness", "column": "missing", "max_age": "2d"}).passed


def test_freshness_of_an_empty_column_fails(window):
    path = window({"day": pa.array([None, None], pa.date32())})

    outcome = only(path, {"rule": "freshness", "column": "day", "max_age": "1w"})

    assert (outcome.passed, outcome.detail) == (False, "day has no values, so the window is not fresh")


def test_score_is_the_share_of_rows_passing_every_row_level_rule(window):
    path = window({"id": [1, None, 3, 3, 5], "email": ["a@b.c", "a@b.c", "bad", "a@b.c", "a@b.c"]})

    quality = evaluate(
        path,
        {"rule": "not_null", "column": "id"},
        {"rule": "regex", "column": "email", "pattern": "@", "severity": "warn"},
        {"rule": "unique", "column": "id"},
        {"rule": "row_count", "min": 100},
    )

    assert (quality.rows_total, quality.rows_passing_all, quality.score) == (5, 2, 0.4)
    assert [outcome.passed for outcome in quality.outcomes] == [False, False, False, False]
    assert [outcome.severity for outcome in quality.outcomes] == ["error", "warn", "error", "error"]


def test_examples_are_capped_and_json_safe(window):
    rows = 50
    path = window({
        "net": pa.array([decimal.Decimal("-1.50")] * rows, pa.decimal128(12, 2)),
        "at": pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * rows, pa.timestamp("us", tz="UTC")),
    })

    quality = evaluate(path, {"rule": "range", "column": "net", "min": 0}, {"rule": "range", "column": "at", "min": NOW})

    assert [len(outcome.examples) for outcome in quality.outcomes] == [MAX_EXAMPLES, MAX_EXAMPLES]
    assert json.loads(json.dumps(quality.outcomes[1].examples[0])) == {
        "at": "2026-01-01T00:00:00+00:00", "_source_file": "orders_0301.csv", "_source_row": 2
    }


def test_a_rule_on_a_missing_column_fails_every_row(window):
    path = window({"a": [1, 2]})

    outcome = only(path, {"rule": "not_null", "column": "b"})

    assert (outcome.passed, outcome.failing_count, outcome.detail) == (
        False, 2, "column b is not in the window, so every row fails"
    )


def test_zero_row_window(window):
    path = window(pa.table({"id": pa.array([], pa.int64())}))

    quality = evaluate(path, {"rule": "not_null", "column": "id"}, {"rule": "row_count", "min": 1})

    assert (quality.rows_total, quality.rows_passing_all, quality.score) == (0, 0, 1.0)
    assert [(o.passed, o.failing_count, o.failing_percent) for o in quality.outcomes] == [(True, 0, 0.0), (False, 1, 0.0)]


@pytest.mark.parametrize("pattern", ["it's", r'say "hi"'])
def test_patterns_with_quotes_are_passed_safely(window, pattern):
    path = window({"text": [pattern, "other"]})

    assert only(path, {"rule": "regex", "column": "text", "pattern": pattern}).failing_count == 1


def test_a_pattern_is_checked_once_however_many_windows_use_it(window):
    pattern = "^[a-z]+@once-per-run$"
    first, second = window({"email": ["a"]}, name="w1.parquet"), window({"email": ["b"]}, name="w2.parquet")
    checked_before = regex_problem.cache_info().misses

    for path in (first, second):
        only(path, {"rule": "regex", "column": "email", "pattern": pattern})

    assert regex_problem.cache_info().misses == checked_before + 1


def test_examples_show_decimals_as_text_and_bytes_as_hex(window):
    path = window({
        "net": pa.array([decimal.Decimal("-1.50"), decimal.Decimal("2.00")], pa.decimal128(12, 2)),
        "blob": pa.array([b"\x00\xff", b"\x00\xff"], pa.binary()),
    })

    quality = evaluate(path, {"rule": "range", "column": "net", "min": 0}, {"rule": "unique", "column": "blob"})

    assert quality.outcomes[0].examples[0]["net"] == "-1.50"
    assert [example["blob"] for example in quality.outcomes[1].examples] == ["00ff", "00ff"]
