"""Profiles and rules work whatever the columns are called: the queries' own aliases, SQL keywords, quotes, unicode."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.ingest.readers import read_file
from etl_assets.profiling.profiler import profile_parquet
from etl_assets.quality.evaluate import evaluate_window
from etl_assets.quality.rules import check_names
from etl_assets_tests.quality.conftest import rules

# Every alias, temp table and virtual column the profiling and rule queries use, then names SQL reads as syntax.
QUERY_NAMES = [
    "i", "v", "n", "raw", "groups", "kind", "b", "x", "x0", "x1", "t", "c", "d", "c0", "c1", "value", "count",
    "source", "sample", "key_sample", "flags", "f0", "f1", "file_row_number", "filename", "file_index", "reference_0",
]
AWKWARD_NAMES = ["select", "from", "group", "order", "where", "by", "limit", "null", "true", 'say "hi"', "it's", "order id", "prénom", "数量", "{c}", "a.b"]
NAMES = QUERY_NAMES + AWKWARD_NAMES
ROWS = 6
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _values(position: int) -> list[str | None]:
    """Text that profiles as a category, an integer or a date, by column position, with one null and one repeat."""
    kind = position % 3
    if kind == 0:
        return ["red", "blue", "blue", None, f"tone{position}", "green"]
    if kind == 1:
        return [str(position), "2", "2", None, "-7", "40"]
    return ["2026-01-05", "2026-02-01", "2026-02-01", None, "2025-12-31", f"2026-01-{position % 28 + 1:02d}"]


def _table(names: list[str]) -> pa.Table:
    columns = {name: pa.array(_values(position), pa.string()) for position, name in enumerate(names)}
    columns["id"] = pa.array([str(row) for row in range(1, ROWS + 1)])
    return pa.table(columns)


def _write(tmp_path, table: pa.Table, name: str):
    path = tmp_path / name
    pq.write_table(table, path)
    return path


def test_a_column_named_v_profiles(tmp_path):
    upload = tmp_path / "upload.csv"
    upload.write_text("id,v\n1,a\n2,b\n")
    path = _write(tmp_path, read_file(upload, "csv", "upload.csv").table, "upload.parquet")

    profile = profile_parquet(path)

    assert profile.inferred_types() == {"id": "integer", "v": "string"}
    assert [(c.distinct_count, c.min, c.max) for c in profile.columns] == [(2, 1, 2), (2, "a", "b")]


@pytest.mark.slow
def test_every_profile_query_works_whatever_the_column_names(tmp_path):
    plain_names = [f"plain_{position}" for position in range(len(NAMES))]
    awkward = profile_parquet(_write(tmp_path, _table(NAMES), "awkward.parquet"))
    plain = profile_parquet(_write(tmp_path, _table(plain_names), "plain.parquet"))

    renamed = dict(zip(plain_names, NAMES)) | {"id": "id"}
    assert [c.name for c in awkward.columns] == NAMES + ["id"]
    assert awkward.columns == [dataclasses.replace(c, name=renamed[c.name]) for c in plain.columns]
    assert awkward.key_candidates == [["id"]]
    assert {d.column for d in awkward.date_candidates} == {name for position, name in enumerate(NAMES) if position % 3 == 2}
    v, source = awkward.column("v"), awkward.column("source")
    assert (v.inferred_type, v.null_count, v.distinct_count, v.min, v.max) == ("integer", 1, 4, -7, 40)
    assert v.top_values == [["2", 2], ["-7", 1], ["1", 1], ["40", 1]]
    assert sum(bin_[2] for bin_ in v.histogram) == ROWS - 1
    assert (source.inferred_type, source.top_values[0]) == ("date", ["2026-02-01", 2])
    assert awkward.column("count").inferred_type == "integer"
    assert awkward.column("select").top_values[0] == ["blue", 2]


def test_a_rule_of_every_type_works_whatever_the_column_names(tmp_path):
    table = _table(NAMES)
    table = table.append_column("_row", pa.array([1, 2, 2, 3, 5, 6], pa.int64()))
    table = table.append_column("when", pa.array([dt.date(2026, 3, 1)] * ROWS))
    table = table.append_column("amount", pa.array([5, 50, 500, None, 0, 7], pa.int64()))
    path = _write(tmp_path, table, "window.parquet")
    references = {("customers", "flags"): pa.table({"flags": ["red", "blue", "green"]})}
    parsed = rules(
        {"rule": "not_null", "column": "file_row_number"},
        {"rule": "unique", "columns": ["_row", "f0"]},
        {"rule": "regex", "column": "v", "pattern": "^[0-9]+$"},
        {"rule": "range", "column": "amount", "min": 1, "max": 100},
        {"rule": "accepted_values", "column": "select", "values": ["red", "blue", "green"]},
        {"rule": "references", "column": "sample", "dataset": "customers", "key": "flags"},
        {"rule": "row_count", "min": ROWS},
        {"rule": "schema", "expected": {"file_row_number": "string", "when": "date", "_row": "integer"}},
        {"rule": "freshness", "column": "when", "max_age": "2d"},
        {"rule": "not_null", "column": 'say "hi"'},
    )

    quality = evaluate_window(path, parsed, names=check_names(parsed), references=references, now=NOW)

    outcomes = {o.name: (o.passed, o.failing_count) for o in quality.outcomes}
    assert outcomes == {
        "not_null_file_row_number": (False, 1),
        "unique__row_f0": (False, 2),
        "regex_v": (False, 1),
        "range_amount": (False, 2),
        "accepted_values_select": (False, 1),
        "references_sample": (False, 1),
        "row_count": (True, 0),
        "schema": (True, 0),
        "freshness_when": (True, 0),
        'not_null_say "hi"': (False, 1),
    }
    examples = {o.name: o.examples for o in quality.outcomes}
    assert examples["not_null_file_row_number"] == [{"file_row_number": None}]
    assert examples["unique__row_f0"] == [{"_row": 2, "f0": "blue"}, {"_row": 2, "f0": "blue"}]
    assert examples["regex_v"] == [{"v": "-7"}]
    assert examples["range_amount"] == [{"amount": 500}, {"amount": 0}]
    assert examples["accepted_values_select"] == [{"select": "tone27"}]
    assert examples["references_sample"] == [{"sample": "tone18"}]
    assert quality.failing_rows.column("_row").to_pylist() == [1, 2, 3, 4]
