"""JSON columns are profiled as text, but never typed from it and never taken for keys."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.profiling.profiler import profile_parquet
from etl_assets.warehouse.keys import facts_from_profile, primary_key


def test_json_columns_are_json_whatever_their_values_look_like(tmp_path):
    path = tmp_path / "upload.parquet"
    pq.write_table(pa.table({
        "numbers": pa.array(["12", "13", "14", None], pa.json_()),
        "days": pa.array(['"2026-01-05"', '"2026-01-06"', '"2026-01-07"', '"2026-01-08"'], pa.json_()),
        "tags": pa.array(['["a"]', "[]", "[]", None], pa.json_()),
    }), path)

    profile = profile_parquet(path)

    assert profile.inferred_types() == {"numbers": "json", "days": "json", "tags": "json"}
    assert {c.name: c.semantic_type for c in profile.columns} == {"numbers": "json", "days": "json", "tags": "json"}
    tags = profile.column("tags")
    assert (tags.null_count, tags.distinct_count, tags.min, tags.max, tags.top_values) == (1, 2, '["a"]', "[]", [["[]", 2], ['["a"]', 1]])
    assert tags.length == {"min": 2, "mean": 3.0, "max": 5}
    assert profile.date_candidates == [] and profile.key_candidates == [], "a unique JSON column is no key"
    assert primary_key(facts_from_profile(profile)) is None
