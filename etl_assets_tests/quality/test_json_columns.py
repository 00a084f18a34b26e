"""Rules on JSON columns: the schema rule knows the json type, text rules read the JSON text."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from etl_assets.quality.evaluate import evaluate_window
from etl_assets.quality.rules import check_names
from etl_assets_tests.quality.conftest import rules

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def test_rules_on_a_json_column(window):
    path = window({"payload": pa.array(['{"a": 1}', "[]", None], pa.json_()), "note": ["x", "y", "z"]})
    parsed = rules(
        {"rule": "schema", "expected": {"payload": "json"}},
        {"rule": "schema", "expected": {"note": "json"}},
        {"rule": "not_null", "column": "payload"},
        {"rule": "regex", "column": "payload", "pattern": "^[{]"},
        {"rule": "unique", "column": "payload"},
    )

    quality = evaluate_window(path, parsed, names=check_names(parsed), now=NOW)

    assert [(o.passed, o.failing_count) for o in quality.outcomes] == [(True, 0), (False, 1), (False, 1), (False, 1), (True, 0)]
    assert quality.outcomes[1].detail == "note is string, expected json"
    assert quality.outcomes[3].examples[0]["payload"] == "[]"
