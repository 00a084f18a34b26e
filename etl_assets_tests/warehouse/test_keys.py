"""Default load keys (docs/architecture.md §5), from plain column facts and from a real profile."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.profiling.profiler import profile_parquet
from etl_assets.warehouse.keys import ColumnFacts, KeyChoice, choose_keys, facts_from_profile, primary_key

ROWS = 100


def unique(name: str, inferred_type: str = "integer") -> ColumnFacts:
    return ColumnFacts(name, inferred_type, null_count=0, distinct_count=ROWS, row_count=ROWS)


def repeated(name: str, inferred_type: str = "string") -> ColumnFacts:
    return ColumnFacts(name, inferred_type, null_count=0, distinct_count=7, row_count=ROWS)


def test_configured_keys_win_over_detection():
    choice = choose_keys(["sku", "store"], "merge", [unique("order_id")])
    assert choice == KeyChoice("merge", ["sku", "store"], "keys sku, store are set in load.keys")


def test_strategies_without_keys_keep_their_strategy():
    choice = choose_keys([], "append", [unique("order_id")])
    assert choice == KeyChoice("append", [], "the append strategy needs no keys")


def test_detected_primary_key_is_merged_with_the_window():
    choice = choose_keys([], "merge", [repeated("email"), unique("amount_cents"), unique("order_id")])
    assert choice.strategy == "merge"
    assert choice.keys == ["time_window_start", "time_window_end", "order_id"]
    assert "order_id is unique and never empty" in choice.reason


def test_primary_key_prefers_id_names_then_integers_and_strings_then_column_order():
    assert primary_key([unique("when", "timestamp"), unique("code", "string"), unique("n")]).name == "code"
    assert primary_key([unique("code", "string"), unique("customerId", "string")]).name == "customerId"
    assert primary_key([unique("code", "string"), unique("paid", "string")]).name == "code"
    assert primary_key([unique("score", "float"), unique("flag", "boolean")]) is None


def test_columns_with_nulls_or_duplicates_or_no_rows_are_not_keys():
    with_null = ColumnFacts("order_id", "integer", null_count=1, distinct_count=ROWS - 1, row_count=ROWS)
    empty = ColumnFacts("order_id", "integer", null_count=0, distinct_count=0, row_count=0)
    assert primary_key([with_null, repeated("sku"), empty]) is None


def test_week_start_then_first_date_column_replace_the_window():
    weekly = choose_keys([], "merge", [repeated("shipped_on", "date"), repeated("week_start", "date")])
    assert weekly.strategy == "replace_window"
    assert weekly.keys == ["time_window_start", "time_window_end", "week_start"]
    assert "keeps every row" in weekly.reason
    dated = choose_keys([], "merge", [repeated("region"), repeated("shipped_on", "date"), repeated("at", "timestamp")])
    assert dated.keys == ["time_window_start", "time_window_end", "shipped_on"]


def test_nothing_found_replaces_the_window():
    choice = choose_keys([], "merge", [repeated("region")])
    assert (choice.strategy, choice.keys) == ("replace_window", [])
    assert "no key or date column" in choice.reason


def test_facts_from_a_real_profile_find_the_key(tmp_path):
    path = tmp_path / "orders.parquet"
    table = pa.table(
        {"status": ["paid", "paid", "shipped"], "order_id": ["A1", "A2", "A3"], "_source_row": [1, 2, 3]}
    )
    pq.write_table(table, path)
    facts = facts_from_profile(profile_parquet(path))

    assert [f.name for f in facts] == ["status", "order_id"]
    assert choose_keys([], "merge", facts).keys == ["time_window_start", "time_window_end", "order_id"]


def test_a_unique_pair_from_the_profile_serves_when_no_single_column_does(tmp_path):
    path = tmp_path / "lines.parquet"
    # order_id repeats and line_no repeats, but together they are unique; shipped_on is a date that repeats
    pq.write_table(
        pa.table(
            {
                "order_id": [1, 1, 2, 2],
                "line_no": [1, 2, 1, 2],
                "shipped_on": pa.array([None] * 4, pa.date32()),
            }
        ),
        path,
    )
    profile = profile_parquet(path)
    assert ["order_id", "line_no"] in profile.key_candidates
    choice = choose_keys([], "merge", facts_from_profile(profile), profile.key_candidates)
    assert (choice.strategy, choice.keys) == ("merge", ["time_window_start", "time_window_end", "order_id", "line_no"])
    assert "order_id + line_no" in choice.reason


def test_every_spelling_of_an_id_name_is_preferred_and_words_ending_in_id_are_not():
    for name in ("CustomerID", "order-id", "ORDER_ID", "id"):
        assert primary_key([unique("code", "string"), unique(name, "string")]).name == name
    for name in ("PAID", "VOID", "valid"):
        assert primary_key([unique("code", "string"), unique(name, "string")]).name == "code"
