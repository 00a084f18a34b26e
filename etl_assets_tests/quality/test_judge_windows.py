"""A range's windows are judged on one DuckDB database, each on its own cursor, exactly as if judged alone."""

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.config.models import DatasetConfig
from etl_assets.lake import stage_paths
from etl_assets.paths import ProjectPaths
from etl_assets.quality.verdict import judge_window, judge_windows

RULES = [
    {"rule": "regex", "column": "email", "pattern": "@", "action": "quarantine"},
    {"rule": "unique", "columns": ["id"], "severity": "error"},
    {"rule": "not_null", "column": "net"},
]
WINDOWS = {
    "2026-03-01": {"id": [1, 1, 3], "email": ["a@b", "bad", "c@d"], "net": [1.0, None, 2.0]},
    "2026-03-02": {"id": pa.array([], pa.int64()), "email": pa.array([], pa.string()), "net": pa.array([], pa.float64())},
    "2026-03-03": {"id": [7], "email": ["x@y"], "net": [3.0]},
}


def test_windows_judged_together_match_each_judged_alone(window, tmp_path):
    dataset = DatasetConfig.model_validate(
        {"name": "orders", "source": {"path": "/landing/orders"}, "load": {"table": "ORDERS"}, "quality": RULES}
    )
    stages = [stage_paths(ProjectPaths(tmp_path), "orders", key) for key in WINDOWS]
    for stage, columns in zip(stages, WINDOWS.values(), strict=True):
        stage.transformed.parent.mkdir(parents=True, exist_ok=True)
        window(columns, name="w.parquet").replace(stage.transformed)

    together = judge_windows(dataset, stages, {})
    quarantined_together = pq.read_table(stages[0].quarantine)
    alone = {stage.window_key: judge_window(dataset, stage, {}) for stage in stages}

    assert list(together) == list(WINDOWS)
    for key, (quality, verdict) in together.items():
        assert verdict == alone[key][1]
        assert quality.outcomes == alone[key][0].outcomes
        assert quality.failing_rows.equals(alone[key][0].failing_rows)
    assert together["2026-03-01"][1].blocked_by == ("unique_id", "not_null_net")
    assert quarantined_together.equals(pq.read_table(stages[0].quarantine))
