"""A rule that cannot be checked on the window's column types fails alone, with one sentence; the others still run."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.quality.evaluate import evaluate_window
from etl_assets.quality.rules import check_names
from etl_assets_tests.quality.conftest import rules

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
GOOD_RULES = (
    {"rule": "not_null", "column": "amount"},
    {"rule": "range", "column": "amount", "max": 100},
)


@pytest.fixture
def path(window):
    return window({
        "amount": pa.array([5, None, 500], pa.int64()),
        "status": ["paid", "7", "lost"],
        "day": pa.array([dt.date(2026, 3, 1)] * 3),
        "payload": pa.array(['{"a": 1}', "[]", None], pa.json_()),
    })


def _evaluate(path, broken, references=None):
    parsed = rules(broken, *GOOD_RULES)
    return evaluate_window(path, parsed, names=check_names(parsed), references=references or {}, now=NOW)


@pytest.mark.parametrize(
    ("broken", "detail"),
    [
        (
            {"rule": "range", "column": "amount", "min": "a"},
            "the bound 'a' is text but amount holds numbers (BIGINT); write the bound as a number in etl_config.yaml.",
        ),
        (
            {"rule": "range", "column": "status", "min": 0, "max": 10},
            "the bound 0 is a number but status holds text (VARCHAR); write the bound as text in etl_config.yaml.",
        ),
        (
            {"rule": "range", "column": "day", "min": "soon"},
            "the bound 'soon' is not a date or time like day (DATE) holds; write it as YYYY-MM-DD (or with a time) in etl_config.yaml.",
        ),
        (
            {"rule": "range", "column": "day", "max": 5},
            "the bound 5 is a number but day holds dates or times (DATE); write the bound as a date or time in etl_config.yaml.",
        ),
        (
            {"rule": "accepted_values", "column": "amount", "values": [5, "paid"]},
            "the value 'paid' is text but amount holds numbers (BIGINT); write the value as a number in etl_config.yaml.",
        ),
        (
            {"rule": "accepted_values", "column": "status", "values": [1, 7]},
            "the value 1 is a number but status holds text (VARCHAR); write the value as text in etl_config.yaml.",
        ),
        (
            {"rule": "range", "column": "payload", "min": "a"},
            "payload holds JSON, which a range rule cannot compare; check it with another rule or type the column in transform.columns.",
        ),
        (
            {"rule": "regex", "column": "status", "pattern": "(?=p)aid"},
            "'(?=p)aid' is not valid in DuckDB's RE2 syntax (invalid perl operator: (?=); "
            "rewrite it without lookarounds or backreferences.",
        ),
        (
            {"rule": "references", "column": "amount", "dataset": "customers", "key": "code"},
            "amount holds BIGINT but customers.code holds VARCHAR, so they cannot be compared; "
            "give both the same type in transform.columns.",
        ),
        (
            {"rule": "freshness", "column": "status", "max_age": "1d"},
            "status holds VARCHAR values, not dates or timestamps; point the freshness rule at a date or timestamp column.",
        ),
    ],
)
def test_a_rule_that_cannot_be_checked_fails_alone_with_one_sentence(path, broken, detail):
    customers = {("customers", "code"): pa.table({"code": ["5", "x"]})}

    quality = _evaluate(path, broken, references=customers)

    broken_outcome, not_null, in_range = quality.outcomes
    assert (broken_outcome.passed, broken_outcome.detail) == (False, detail)
    assert (not_null.passed, not_null.failing_count) == (False, 1)
    assert (in_range.passed, in_range.failing_count) == (False, 1)
    assert quality.rows_passing_all == 1, "a rule that could not be checked flags no row"


def test_non_finite_bounds_are_compared_as_numbers(path):
    quality = _evaluate(path, {"rule": "range", "column": "amount", "min": float("-inf"), "max": float("inf")})

    assert (quality.outcomes[0].passed, quality.outcomes[0].failing_count) == (True, 0)


def test_date_bounds_written_as_text_are_compared_as_dates(path):
    quality = _evaluate(path, {"rule": "range", "column": "day", "min": "2026-03-02"})

    assert (quality.outcomes[0].passed, quality.outcomes[0].failing_count) == (False, 3)


def test_unreadable_reference_data_fails_only_its_rule(path, tmp_path):
    damaged = tmp_path / "customers.parquet"
    pq.write_table(pa.table({"code": [str(n) for n in range(10_000)]}), damaged)
    data = bytearray(damaged.read_bytes())
    data[100:4000] = b"\x00" * 3900
    damaged.write_bytes(bytes(data))
    rule = {"rule": "references", "column": "status", "dataset": "customers", "key": "code"}

    quality = _evaluate(path, rule, references={("customers", "code"): [damaged]})

    outcome = quality.outcomes[0]
    assert not outcome.passed
    assert outcome.detail.startswith("the rule could not be evaluated on this window (")
    assert outcome.detail.endswith("); fix the rule or the data it reads.")
    assert [o.failing_count for o in quality.outcomes[1:]] == [1, 1]
