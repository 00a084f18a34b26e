import dataclasses
import datetime as dt
import decimal
import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.excluded_rows import write_excluded
from etl_assets.profiling.model import ColumnProfile, Profile
from etl_assets.profiling.profiler import profile_parquet, scanned_profile, write_profile

DIRTY = pa.table(
    {
        "order_id": ["1", "2", None, "-30"],
        "amount": ["1.50", "2", "0.5", None],
        "ratio": ["1e3", "2.5", "3", None],
        "comment": ["1e3", "2.5", "n/a", None],
        "paid": ["true", "FALSE", "true", None],
        "yesno": ["yes", "no", "yes", None],
        "order_date": ["2026-01-02", "2026-01-01", None, None],
        "odd_date": ["2026-01-02", "2026/01/01", None, None],
        "created_at": ["2026-01-01T10:00:00Z", "2026-01-01 09:00:00+02:00", None, None],
        "blank": pa.array([None] * 4, pa.string()),
        "quantity": pa.array([1, 2, None, 4], pa.int64()),
        "price": pa.array([decimal.Decimal("1.20"), None, None, decimal.Decimal("3.40")], pa.decimal128(5, 2)),
        "shipped_on": [dt.date(2026, 1, 3)] * 4,
        "score": [float("nan"), 1.0, None, 2.0],
        "_source_row": [1, 2, 3, 4],
    }
)


def _profile(tmp_path, table=DIRTY):
    path = tmp_path / "upload.parquet"
    pq.write_table(table, path)
    return profile_parquet(path)


def _core(column):
    """The seven facts every profile has had since the first version."""
    return ColumnProfile(*dataclasses.astuple(column)[:7])


def test_types_are_inferred_from_text_values(tmp_path):
    assert _profile(tmp_path).inferred_types() == {
        "order_id": "integer",
        "amount": "decimal(3,2)",
        "ratio": "string",
        "comment": "string",
        "paid": "boolean",
        "yesno": "string",
        "order_date": "date",
        "odd_date": "string",
        "created_at": "timestamp",
        "blank": "string",
        "quantity": "integer",
        "price": "decimal(5,2)",
        "shipped_on": "date",
        "score": "float",
    }


def test_counts_and_typed_ranges_are_json_safe(tmp_path):
    profile = _profile(tmp_path)
    columns = {column.name: column for column in profile.columns}
    assert profile.row_count == 4
    assert _core(columns["order_id"]) == ColumnProfile("order_id", "string", "integer", 1, 3, -30, 2)
    assert (columns["amount"].min, columns["amount"].max) == ("0.5", "2")
    assert (columns["ratio"].min, columns["ratio"].max) == ("1e3", "3"), "a FLOAT would print 1e3 as 1000"
    assert (columns["paid"].min, columns["paid"].max, columns["paid"].distinct_count) == (False, True, 2)
    assert (columns["created_at"].min, columns["created_at"].max) == ("2026-01-01 09:00:00+02:00", "2026-01-01T10:00:00Z")
    assert (columns["comment"].min, columns["comment"].max) == ("1e3", "n/a")
    assert _core(columns["blank"]) == ColumnProfile("blank", "string", "string", 4, 0, None, None)
    assert (columns["price"].min, columns["price"].max, columns["price"].null_count) == ("1.20", "3.40", 2)
    assert (columns["shipped_on"].min, columns["shipped_on"].physical_type) == ("2026-01-03", "date32[day]")
    assert columns["score"].max == "nan"
    assert "_source_row" not in profile.inferred_types()
    json.dumps(profile.to_dict(), allow_nan=False)


def test_zero_rows(tmp_path):
    profile = _profile(tmp_path, DIRTY.slice(0, 0))
    assert profile.row_count == 0
    assert {column.inferred_type for column in profile.columns if column.physical_type == "string"} == {"string"}
    assert all(column.null_count == 0 and column.min is None for column in profile.columns)


def test_round_trips_through_json_and_renders_markdown(tmp_path):
    profile = _profile(tmp_path)
    path = tmp_path / "profiles" / "2026-11-20.json"
    write_profile(profile, path)
    assert Profile.from_dict(json.loads(path.read_text())) == profile
    assert [entry.name for entry in path.parent.iterdir()] == ["2026-11-20.json"]
    markdown = profile.to_markdown().splitlines()
    assert markdown[0] == "| column | type | nulls | distinct | min | max |"
    assert "| order_id | integer | 1 | 3 | -30 | 2 |" in markdown
    assert "| paid | boolean | 1 | 2 | false | true |" in markdown
    assert len(markdown) == 2 + len(profile.columns)


def test_odd_column_names_and_pipes_are_quoted(tmp_path):
    table = pa.table({'say "hi" | {c}': ["a|b", "c"]})
    profile = _profile(tmp_path, table)
    assert profile.columns[0].max == "c" and profile.columns[0].min == "a|b"
    assert "a\\|b" in profile.to_markdown()


@pytest.mark.slow
def test_one_bad_value_late_in_a_big_column_demotes_its_type(tmp_path):
    rows = 200_000
    late = rows - 7

    def with_one(good, bad):
        return [bad if index == late else good(index) for index in range(rows)]

    table = pa.table(
        {
            "whole": with_one(str, "12x"),
            "money": with_one(str, "2.5"),
            "day": with_one(lambda i: f"2026-01-{i % 28 + 1:02d}", "2026-02-30"),
            "flag": with_one(lambda i: "true" if i % 2 else "false", "maybe"),
            "mostly_null": [None] * late + ["5"] + [None] * (rows - late - 1),
            "blanks": ["", " ", "\u3000", "\t", "x"] * (rows // 5),
        }
    )
    profile = _profile(tmp_path, table)
    assert profile.inferred_types() == {
        "whole": "string",
        "money": "decimal(7,1)",
        "day": "string",
        "flag": "string",
        "mostly_null": "integer",
        "blanks": "string",
    }
    assert (profile.column("money").min, profile.column("money").max) == ("0", "199999")
    assert (profile.column("mostly_null").min, profile.column("mostly_null").max) == (5, 5)
    assert profile.column("blanks").empty_count == rows // 5 * 3


def test_an_empty_upload_is_profiled_from_its_schema_as_a_scan_would_profile_it(tmp_path):
    wide = DIRTY.append_column("extra", pa.array(["{}"] * 4, pa.json_())).append_column(
        "when", pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * 4, pa.timestamp("us", tz="UTC"))
    ).append_column("raw", pa.array([b"x"] * 4, pa.binary()))
    path = tmp_path / "empty.parquet"
    pq.write_table(wide.slice(0, 0), path)
    fields = [f for f in pq.read_schema(path) if not f.name.startswith("_")]

    assert profile_parquet(path) == scanned_profile(path, fields, approximate=False)


def test_a_profile_leaves_out_the_excluded_rows(tmp_path):
    # the quarantined copy of id 2 is the only repeat: without it, id is a key and 1..3 its range
    path = tmp_path / "kept.parquet"
    pq.write_table(pa.table({"id": [1, 2, 2, 3], "note": ["a", "b", "x", "c"]}), path)
    excluded = tmp_path / "kept.rows.parquet"
    write_excluded(path, pa.array([2]), excluded)

    whole, kept = profile_parquet(path), profile_parquet(path, excluded=excluded)

    assert (whole.row_count, kept.row_count) == (4, 3)
    assert ["id"] not in whole.key_candidates and ["id"] in kept.key_candidates
    assert kept.column("note").distinct_count == 3 and kept.column("note").max == "c"


def test_a_unique_column_the_estimate_puts_short_of_unique_is_counted_exactly_and_is_a_key(tmp_path):
    rows = 100_000
    path = tmp_path / "refs.parquet"
    pq.write_table(pa.table({"ref": [str(n * 7919) for n in range(rows)], "shop": [str(n % 7) for n in range(rows)]}), path)
    # DuckDB's HyperLogLog puts these distinct values at about 96% of the rows: past the old 97% bar for "unique"
    estimate = duckdb.sql(f"SELECT approx_count_distinct(ref) FROM read_parquet('{path}')").fetchall()[0][0]
    assert estimate < 0.97 * rows

    profile = scanned_profile(path, list(pq.read_schema(path)), approximate=True)

    ref = profile.column("ref")
    assert (ref.distinct_count, ref.distinct_is_approximate, ref.top_values) == (rows, False, [])
    assert profile.key_candidates[0] == ["ref"]
    assert profile.column("shop").distinct_is_approximate, "a column far from unique keeps its estimate"


def test_a_small_sample_profiled_in_one_group_by_per_query_matches_one_branch_per_column(tmp_path, monkeypatch):
    # a sample of at most FEW_ROWS rows reads its text columns as one column of values grouped by column (their
    # type guesses, semantic counts, shapes and, the sample holding every row, value counts); the profile must be
    # the one the per-column queries give, hostile values included
    extra = {
        "email": ["a@b.co", "x.y+z@mail.example.org", "c@d.io", None] * 3,
        "day": ["13/01/2026", "02/01/2026", " 31/12/2025", ""] * 3,
        "site": ["https://ex.com/a", "http://x.y/z?q=1", None, "ftp://f.example"] * 3,
        "code": ["007", "abc-123", "Ünïcødé", "falſe"] * 3,
    }
    table = pa.concat_tables([DIRTY] * 3)
    for name, values in extra.items():
        table = table.append_column(name, pa.array(values, pa.string()))
    grouped = _profile(tmp_path, table)
    monkeypatch.setattr("etl_assets.profiling.sql.FEW_ROWS", 0)

    assert _profile(tmp_path, table) == grouped
    assert grouped.column("email").semantic_type == "email" and grouped.column("site").semantic_type == "url"
    assert ("day", "%d/%m/%Y") in [(d.column, d.format) for d in grouped.date_candidates]
    assert ["999", 3] in grouped.column("code").pattern_sample
