import random

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.profiling.model import Profile
from etl_assets.profiling.profiler import profile_parquet, read_profile, write_profile

ROWS = 200


def _table():
    rng = random.Random(5)
    ids = [str(i) for i in range(1, ROWS + 1)]
    return pa.table(
        {
            "order_id": ids,
            "nullable_id": [None if i == 7 else i for i in range(ROWS)],
            "almost_id": [i if i != 9 else 8 for i in range(ROWS)],
            "line": [i % 2 for i in range(ROWS)],
            "batch": [i // 2 for i in range(ROWS)],
            "email": [f"user{i}@example.com" for i in range(ROWS)],
            "site": [f"https://example.com/p/{i}" for i in range(ROWS)],
            "token": [f"123e4567-e89b-12d3-a456-{i:012d}" for i in range(ROWS)],
            "status": [rng.choice(["paid", "shipped", ""]) for _ in range(ROWS)],
            "amount": [f"{i * 1.5:.2f}" for i in range(ROWS)],
            "day_first": [f"{1 + i % 28:02d}/{1 + i % 12:02d}/2026" for i in range(ROWS)],
            "two_formats": [f"2026-01-{1 + i % 28:02d}" if i % 2 else f"{1 + i % 28:02d}.01.2026" for i in range(ROWS)],
            "stamp": ["20260105"] * ROWS,
            "note": [f"customer {i} asked for a gift wrap and a call" for i in range(ROWS)],
            "_source_row": list(range(ROWS)),
        }
    )


def _profile(tmp_path, table=None):
    path = tmp_path / "upload.parquet"
    pq.write_table(_table() if table is None else table, path)
    return profile_parquet(path)


def test_semantic_types(tmp_path):
    semantic = {c.name: c.semantic_type for c in _profile(tmp_path).columns}
    assert semantic == {
        "order_id": "integer_id",
        "nullable_id": "integer_id",
        "almost_id": "integer_id",
        "line": None,
        "batch": None,
        "email": "email",
        "site": "url",
        "token": "uuid",
        "status": "category",
        "amount": None,
        "day_first": "date",
        "two_formats": "category",
        "stamp": "date",
        "note": "free_text",
    }


def test_key_candidates_skip_nullable_and_duplicated_ids_and_find_pairs(tmp_path):
    keys = _profile(tmp_path).key_candidates
    assert keys[0] == ["order_id"]
    assert ["nullable_id"] not in keys and ["almost_id"] not in keys
    assert ["line", "batch"] in keys
    assert [len(key) for key in keys] == sorted(len(key) for key in keys)


def test_date_candidates_report_one_format_and_reject_mixed_formats(tmp_path):
    profile = _profile(tmp_path)
    formats = {d.column: d.format for d in profile.date_candidates}
    assert formats == {"day_first": "%d/%m/%Y", "stamp": "%Y%m%d"}
    rejected = {d.column: d.reason for d in profile.rejected_date_columns}
    assert "mix the formats" in rejected["two_formats"] and "%d.%m.%Y" in rejected["two_formats"]
    assert profile.column("day_first").quantiles["p50"].startswith("2026-")


def test_numbers_stored_as_text_get_numeric_statistics(tmp_path):
    amount = _profile(tmp_path).column("amount")
    assert amount.inferred_type == "decimal(5,2)"
    assert amount.mean == sum(i * 1.5 for i in range(ROWS)) / ROWS
    assert amount.quantiles["p50"] == 149.25
    assert [round(low, 2) for low, _, _ in amount.histogram][:2] == [0.0, 29.85]
    assert sum(count for _, _, count in amount.histogram) == ROWS


def test_counts_top_values_lengths_and_shapes(tmp_path):
    profile = _profile(tmp_path)
    status = profile.column("status")
    assert status.empty_count == sum(1 for value in _table()["status"].to_pylist() if value == "")
    assert [value for value, _ in status.top_values] and sum(count for _, count in status.top_values) == ROWS
    assert profile.column("order_id").top_values == []
    assert profile.column("email").pattern_sample[0] == ["aaaa999@aaaaaaa.aaa", 100]
    assert profile.column("stamp").length == {"min": 8, "mean": 8.0, "max": 8}
    assert not profile.column("email").distinct_is_approximate


def test_duplicate_rows_count_extra_copies_and_ignore_lineage(tmp_path):
    table = pa.table({"a": [1, 1, 1, 2], "b": ["x", "x", "x", "y"], "_source_row": [1, 2, 3, 4]})
    profile = _profile(tmp_path, table)
    assert profile.duplicate_rows == 2
    assert profile.key_candidates == []


def test_rich_profile_round_trips_and_old_profiles_still_read(tmp_path):
    profile = _profile(tmp_path)
    path = tmp_path / "profile.json"
    write_profile(profile, path)
    assert read_profile(path) == profile
    old = {"row_count": 1, "columns": [{"name": "a", "physical_type": "string", "inferred_type": "integer", "null_count": 0, "distinct_count": 1, "min": 1, "max": 1}]}
    assert Profile.from_dict(old).columns[0].top_values == []


def test_a_window_above_the_exact_limit_is_profiled_in_bounded_memory_with_estimates(tmp_path, monkeypatch):
    # exact distinct counts and quantiles hold every value; past the limit both are estimates, marked as such
    (tmp_path / "exact").mkdir()
    exact = _profile(tmp_path / "exact")
    monkeypatch.setattr("etl_assets.profiling.profiler.EXACT_DISTINCT_MAX_ROWS", ROWS - 1)
    estimated = _profile(tmp_path)

    assert not exact.column("batch").distinct_is_approximate and estimated.column("batch").distinct_is_approximate
    assert abs(estimated.column("batch").distinct_count - ROWS // 2) <= ROWS // 2 * 0.05
    assert exact.column("amount").quantiles["p50"] == 149.25
    assert abs(estimated.column("amount").quantiles["p50"] - 149.25) <= 3.0, "the median of 0, 1.5, ... 298.5, within 1%"
    # a column whose estimate is near one value per row is counted exactly, to tell whether it is unique
    assert (estimated.column("amount").distinct_count, estimated.column("amount").distinct_is_approximate) == (ROWS, False)
    assert estimated.key_candidates == exact.key_candidates


def test_windows_profiled_on_one_database_get_the_profiles_they_get_alone(tmp_path):
    # a range shares one DuckDB database; each window's temp tables must stay its own
    from etl_assets import local_duckdb

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    other = pa.table({"order_id": ["7", "8"], "amount": ["x", "1.5"], "_source_row": [1, 2]})
    alone = [_profile(tmp_path / "a"), _profile(tmp_path / "b", other)]
    with local_duckdb.connect() as database:
        shared = [profile_parquet(tmp_path / "a" / "upload.parquet", database), profile_parquet(tmp_path / "b" / "upload.parquet", database)]
    assert shared == alone


def test_pairs_past_the_sample_are_judged_in_full_through_their_first_columns_repeats(tmp_path, monkeypatch):
    # past the sample a pair is counted in full: through the repeated values of a mostly unique first column
    # (ref repeats at rows 10/11 and 20/21), or over every row when the first column has few values (x)
    monkeypatch.setattr("etl_assets.profiling.sql.SAMPLE_ROWS", 100)
    rows = 1_000
    ref = [10 if i == 11 else 20 if i == 21 else i for i in range(rows)]
    part = [i % 5 for i in range(rows)]
    part[11], part[21] = part[10], part[20] + 1
    table = pa.table({
        "ref_id": ref,
        "line": [i % 7 for i in range(rows)],  # differs between 10 and 11, 20 and 21: (ref_id, line) is unique
        "part": part,  # same at rows 10 and 11: (ref_id, part) repeats only there
        "x": [i % 40 for i in range(rows)],
        "y": [i // 40 for i in range(rows)],  # (x, y) numbers every row once
        "_source_row": list(range(rows)),
    })  # fmt: skip
    keys = _profile(tmp_path, table).key_candidates
    assert ["ref_id", "line"] in keys and ["x", "y"] in keys
    assert ["ref_id", "part"] not in keys and ["ref_id"] not in keys


def test_pairs_the_sample_keeps_are_ruled_out_on_the_first_rows_before_every_row(tmp_path, monkeypatch):
    # a repeat among any rows is a repeat: the window's first rows rule out a pair before a count over every row
    from etl_assets.profiling import candidates

    monkeypatch.setattr("etl_assets.profiling.sql.SAMPLE_ROWS", 100)
    monkeypatch.setattr(candidates, "PREFIX_ROWS", 300)
    judged = []
    counted = candidates._distinct_pairs_equal

    def recording(connection, table, pairs, expected):
        unique = counted(connection, table, pairs, expected)
        judged.append((table, {frozenset(pair) for pair in pairs}, {frozenset(pair) for pair in unique}))
        return unique

    monkeypatch.setattr(candidates, "_distinct_pairs_equal", recording)
    rows = 1_000
    q = [i % 2 for i in range(rows)]
    q[5] = q[4]  # (p, q) repeats at rows 4 and 5, among the first rows
    r = [i % 2 for i in range(rows)]
    r[901] = r[900]  # (p, r) repeats at rows 900 and 901 only, past them
    table = pa.table({
        "x": [i % 40 for i in range(rows)], "y": [i // 40 for i in range(rows)],  # (x, y) numbers every row once
        "p": [i // 2 for i in range(rows)], "q": q, "r": r, "_source_row": list(range(rows)),
    })  # fmt: skip

    keys = {frozenset(key) for key in _profile(tmp_path, table).key_candidates}

    assert frozenset({"x", "y"}) in keys and frozenset({"x", "p"}) in keys
    assert frozenset({"p", "q"}) not in keys and frozenset({"p", "r"}) not in keys
    (prefix,) = [(pairs, unique) for table_name, pairs, unique in judged if "LIMIT 300" in table_name]
    assert frozenset({"p", "q"}) in prefix[0] and frozenset({"p", "q"}) not in prefix[1], "the first rows rule it out"
    assert frozenset({"p", "r"}) in prefix[1] and frozenset({"x", "y"}) in prefix[1], "no repeat among the first rows"


def test_histograms_counted_in_the_moments_scan_equal_the_ones_counted_apart(tmp_path, monkeypatch):
    # the base profile's bounds let the moments scan count the bins too; the separate GROUP BY is the reference
    table = pa.table({
        "amount": [f"{i * 1.5:.2f}" if i % 9 else None for i in range(ROWS)],
        "flat": [None if i % 4 == 0 else 7 for i in range(ROWS)],  # one value and NULLs: every value in bin 0
        "ratio": [float("inf") if i == 3 else i / 7 for i in range(ROWS)],  # infinite bound: counted apart
        "count": [str(i % 13) for i in range(ROWS)],
        "_source_row": list(range(ROWS)),
    })  # fmt: skip
    monkeypatch.setattr("etl_assets.profiling.distributions.BINS_IN_MOMENTS_MIN_ROWS", 0)
    one_scan = _profile(tmp_path, table)
    monkeypatch.setattr("etl_assets.profiling.distributions._known_bounds", lambda columns, values: {})
    apart = _profile(tmp_path, table)

    assert one_scan == apart
    assert one_scan.column("flat").histogram == [[7, 7, ROWS - ROWS // 4]]
    assert sum(count for _, _, count in one_scan.column("amount").histogram) == ROWS - len(range(0, ROWS, 9))
