import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.profiling.drift import compare_profiles
from etl_assets.profiling.model import Drift, DriftFinding
from etl_assets.profiling.profiler import profile_parquet


def _profile(tmp_path, name, table):
    path = tmp_path / f"{name}.parquet"
    pq.write_table(table, path)
    return profile_parquet(path)


def test_drift_between_two_windows(tmp_path):
    first = _profile(tmp_path, "w1", pa.table({"id": [str(i) for i in range(100)], "code": ["a", "b"] * 50, "gone": [1] * 100}))
    second = _profile(
        tmp_path,
        "w2",
        pa.table({"id": [f"x{i}" for i in range(300)], "code": [None] * 60 + [f"c{i}" for i in range(240)], "new": [1] * 300}),
    )
    drift = compare_profiles(first, second, null_rate_points=10, factor=2)
    found = {(f.kind, f.column) for f in drift.findings}
    assert found == {
        ("row_count", None),
        ("column_added", "new"),
        ("column_removed", "gone"),
        ("type_changed", "id"),
        ("null_rate", "code"),
        ("distinct_count", "id"),
        ("distinct_count", "code"),
    }
    assert drift.has_drift
    assert "| null_rate | code | null rate 0.0% -> 20.0% |" in drift.to_markdown()


def test_no_drift_for_a_first_window_or_small_moves(tmp_path):
    table = pa.table({"id": list(range(100)), "code": ["a", "b", None, "c"] * 25})
    profile = _profile(tmp_path, "w", table)
    assert not compare_profiles(None, profile).has_drift
    similar = _profile(tmp_path, "w2", table.slice(0, 60))
    assert compare_profiles(profile, similar).findings == []
    assert compare_profiles(profile, similar).to_markdown() == "No drift against the previous window."
    ids = table.select(["id"])
    tiny = _profile(tmp_path, "w3", ids.slice(0, 8))
    assert compare_profiles(_profile(tmp_path, "w4", ids.slice(0, 2)), tiny).findings == []


def test_drift_table_keeps_one_row_per_finding_whatever_the_column_name():
    name = "a|b\nc"
    markdown = Drift([DriftFinding("column_added", name, f"new column {name} (string)")]).to_markdown()
    assert markdown.splitlines()[2] == "| column_added | a\\|b c | new column a\\|b c (string) |"
