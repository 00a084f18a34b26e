"""Quarantine splits a window into kept rows and quarantined rows that say which rules they broke."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.quality.evaluate import evaluate_window, quarantine_window
from etl_assets.quality.rules import check_names
from etl_assets_tests.quality.conftest import rules

NOW = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
QUARANTINING = (
    {"rule": "regex", "column": "email", "pattern": "@", "action": "quarantine"},
    {"rule": "range", "column": "net", "min": 0, "action": "quarantine"},
    {"rule": "not_null", "column": "net"},
)


def split(path, raw, kept_path, quarantine_path):
    parsed = rules(*raw)
    names = check_names(parsed)
    quality = evaluate_window(path, parsed, names=names, now=NOW)
    return quality, quarantine_window(path, quality, parsed, names, kept_path=kept_path, quarantine_path=quarantine_path)


def test_failing_rows_go_to_quarantine_with_the_rules_they_broke(window, tmp_path):
    path = window({"id": [1, 2, 3, 4, 5], "email": ["a@b", "bad", "c@d", "worse", "e@f"], "net": [1, -1, None, -2, 5]})
    kept_path, quarantine_path = tmp_path / "kept" / "w.parquet", tmp_path / "quarantine" / "w.parquet"

    quality, result = split(path, QUARANTINING, kept_path, quarantine_path)

    kept, quarantined = pq.read_table(kept_path), pq.read_table(quarantine_path)
    assert (result.kept_rows, result.quarantined_rows) == (3, 2)
    assert kept.column("id").to_pylist() == [1, 3, 5]
    assert kept.schema == pq.read_schema(path), "the kept rows keep the window's exact schema"
    assert quarantined.column("id").to_pylist() == [2, 4]
    assert quarantined.column("_source_row").to_pylist() == [3, 5]
    assert quarantined.column("_failed_rules").to_pylist() == ["regex_email,range_net", "regex_email,range_net"]
    assert quarantined.schema.field("_failed_rules").type == pa.string()
    assert [o.failing_count for o in quality.outcomes] == [2, 2, 1], "rules are evaluated on all rows"


def test_only_quarantine_rules_take_rows_out(window, tmp_path):
    path = window({"email": ["a@b", "bad", "c@d"], "net": [-1, 1, 1]})

    raw = [QUARANTINING[0], {"rule": "range", "column": "net", "min": 0}]
    _, result = split(path, raw, tmp_path / "k.parquet", tmp_path / "q.parquet")

    assert (result.kept_rows, result.quarantined_rows) == (2, 1)
    assert pq.read_table(tmp_path / "q.parquet").column("_failed_rules").to_pylist() == ["regex_email"]


def test_nothing_to_quarantine_removes_a_stale_file_and_still_writes_kept(window, tmp_path):
    path = window({"email": ["a@b", "c@d"], "net": [1, 2]})
    kept_path, quarantine_path = tmp_path / "k.parquet", tmp_path / "q.parquet"
    quarantine_path.write_bytes(b"from an earlier run")

    _, result = split(path, QUARANTINING, kept_path, quarantine_path)

    assert (result.kept_rows, result.quarantined_rows) == (2, 0)
    assert not quarantine_path.exists()
    assert pq.read_table(kept_path).num_rows == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_window_is_split_batch_by_batch_with_each_row_in_its_place(window, tmp_path, monkeypatch):
    # quarantined rows in the first, a middle and the last batch, none in others: slices must line up with the rows
    monkeypatch.setattr("etl_assets.quality.evaluate.SPLIT_BATCH_ROWS", 4)
    monkeypatch.setattr("etl_assets.quality.evaluate.KEPT_ROW_GROUP_ROWS", 7)  # kept batches gather across groups
    emails = [f"user{n}@x" for n in range(23)]
    for bad in (0, 3, 4, 13, 22):
        emails[bad] = f"bad{bad}"
    path = window({"id": list(range(23)), "email": emails, "net": [1] * 23})

    _, result = split(path, QUARANTINING[:1], tmp_path / "k.parquet", tmp_path / "q.parquet")

    kept, quarantined = pq.read_table(tmp_path / "k.parquet"), pq.read_table(tmp_path / "q.parquet")
    assert (result.kept_rows, result.quarantined_rows) == (18, 5)
    assert quarantined.column("id").to_pylist() == [0, 3, 4, 13, 22]
    assert quarantined.column("email").to_pylist() == ["bad0", "bad3", "bad4", "bad13", "bad22"]
    assert kept.column("id").to_pylist() == [n for n in range(23) if n not in (0, 3, 4, 13, 22)]
    assert kept.schema == pq.read_schema(path)
    # a group is written once it holds 7 kept rows or more: 2 + 3 + 4, then 3 + 4, then the last 2
    assert [group.num_rows for group in map(pq.ParquetFile(tmp_path / "k.parquet").metadata.row_group, range(3))] == [9, 7, 2]
