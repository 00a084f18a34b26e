"""Quarantine sets a window's failing rows aside, saying which rules they broke, and names them for the load to
leave out: the window itself is not written again."""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.excluded_rows import StaleExcludedRows, kept_count, kept_relation
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
    excluded_path = positions_of(quarantine_path)
    return quality, quarantine_window(path, quality, parsed, names, kept_path=kept_path, quarantine_path=quarantine_path, excluded_path=excluded_path)


def positions_of(quarantine_path):
    return quarantine_path.with_suffix(".rows.parquet")


def kept_rows(kept_path, quarantine_path):
    """The rows a load of the window takes: the kept file but the positions the split listed."""
    excluded = positions_of(quarantine_path)
    return duckdb.sql(f"SELECT * FROM {kept_relation(kept_path, excluded if excluded.exists() else None)}").to_arrow_table()


def test_failing_rows_go_to_quarantine_with_the_rules_they_broke(window, tmp_path):
    path = window({"id": [1, 2, 3, 4, 5], "email": ["a@b", "bad", "c@d", "worse", "e@f"], "net": [1, -1, None, -2, 5]})
    kept_path, quarantine_path = tmp_path / "kept" / "w.parquet", tmp_path / "quarantine" / "w.parquet"

    quality, result = split(path, QUARANTINING, kept_path, quarantine_path)

    kept, quarantined = kept_rows(kept_path, quarantine_path), pq.read_table(quarantine_path)
    assert (result.kept_rows, result.quarantined_rows) == (3, 2)
    assert kept.column("id").to_pylist() == [1, 3, 5]
    assert os.path.samefile(kept_path, path), "the window is not written again without its quarantined rows"
    assert pq.read_table(positions_of(quarantine_path)).column("_row").to_pylist() == [1, 3]
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


def test_nothing_to_quarantine_removes_a_stale_file_and_lists_no_position(window, tmp_path):
    path = window({"email": ["a@b", "c@d"], "net": [1, 2]})
    kept_path, quarantine_path = tmp_path / "k.parquet", tmp_path / "q.parquet"
    quarantine_path.write_bytes(b"from an earlier run")
    positions_of(quarantine_path).write_bytes(b"from an earlier run")

    _, result = split(path, QUARANTINING, kept_path, quarantine_path)

    assert (result.kept_rows, result.quarantined_rows) == (2, 0)
    assert not quarantine_path.exists()
    assert pq.read_table(positions_of(quarantine_path)).num_rows == 0
    assert kept_count(kept_path, positions_of(quarantine_path)) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_quarantined_rows_keep_their_order_and_the_windows_exact_types(window, tmp_path, monkeypatch):
    # quarantined rows in the first, a middle and the last row group, none in others; handed over 4 at a time
    monkeypatch.setattr("etl_assets.quality.evaluate.QUARANTINE_BATCH_ROWS", 4)
    emails = [f"user{n}@x" for n in range(23)]
    for bad in (0, 3, 4, 13, 22):
        emails[bad] = f"bad{bad}"
    payloads = pa.array([f'{{"n": {n}}}' for n in range(23)], pa.json_())
    path = window(pa.table({"id": list(range(23)), "email": emails, "net": [1.5] * 23, "payload": payloads}))
    pq.write_table(pq.read_table(path), path, row_group_size=6)  # groups of rows 0-5, 6-11 (none bad), 12-17, 18-22

    _, result = split(path, QUARANTINING[:1], tmp_path / "k.parquet", tmp_path / "q.parquet")

    quarantined = pq.read_table(tmp_path / "q.parquet")
    assert (result.kept_rows, result.quarantined_rows) == (18, 5)
    assert quarantined.column("id").to_pylist() == [0, 3, 4, 13, 22]
    assert quarantined.column("email").to_pylist() == ["bad0", "bad3", "bad4", "bad13", "bad22"]
    assert quarantined.column("_source_row").to_pylist() == [2, 5, 6, 15, 24]
    assert quarantined.schema == pq.read_schema(path).append(pa.field("_failed_rules", pa.string())), "JSON stays JSON"
    assert sorted(kept_rows(tmp_path / "k.parquet", tmp_path / "q.parquet").column("id").to_pylist()) == [
        n for n in range(23) if n not in (0, 3, 4, 13, 22)
    ]


def test_positions_listed_for_an_earlier_version_of_the_window_are_refused(window, tmp_path):
    """A transform rerun that wrote the window anew but stopped before its rules ran leaves the old positions:
    they would take out the wrong rows, so reading them fails instead."""
    path = window({"id": [1, 2, 3], "email": ["a@b", "bad", "c@d"], "net": [1, 1, 1]})
    kept_path, quarantine_path = tmp_path / "kept.parquet", tmp_path / "q.parquet"
    split(path, QUARANTINING, kept_path, quarantine_path)
    assert kept_count(kept_path, positions_of(quarantine_path)) == 2

    newer = tmp_path / "newer.parquet"
    pq.write_table(pq.read_table(path).slice(1), newer)
    os.replace(newer, kept_path)

    with pytest.raises(StaleExcludedRows, match="earlier version of kept.parquet; rerun the transform"):
        kept_count(kept_path, positions_of(quarantine_path))
    with pytest.raises(StaleExcludedRows):
        kept_relation(kept_path, positions_of(quarantine_path))


def test_a_split_that_stopped_after_linking_the_new_window_leaves_positions_that_refuse_it(window, tmp_path, monkeypatch):
    """The earlier run quarantined nothing; this one stops before it lists its positions. The earlier verdict's
    positions file (empty) was written for the earlier window, so the new, unjudged window cannot load under it."""
    kept_path, quarantine_path = tmp_path / "kept.parquet", tmp_path / "q.parquet"
    split(window({"id": [1, 2], "email": ["a@b", "c@d"], "net": [1, 1]}, name="first.parquet"), QUARANTINING, kept_path, quarantine_path)
    newer = window({"id": [1, 2, 3], "email": ["a@b", "bad", "c@d"], "net": [1, 1, 1]}, name="second.parquet")

    def stop(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("etl_assets.quality.evaluate._write_quarantined", stop)
    with pytest.raises(KeyboardInterrupt):
        split(newer, QUARANTINING, kept_path, quarantine_path)

    assert os.path.samefile(kept_path, newer)
    with pytest.raises(StaleExcludedRows):
        kept_count(kept_path, positions_of(quarantine_path))
