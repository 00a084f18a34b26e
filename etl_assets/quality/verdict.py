"""A window's verdict: every rule evaluated on its transformed rows, quarantined rows set aside, and whether it may load."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import duckdb

from etl_assets import local_duckdb
from etl_assets.compliance.display import masked_records
from etl_assets.compliance.pii import may_hold_pii, window_pii
from etl_assets.config.models import DatasetConfig
from etl_assets.lake import QualityVerdict, StagePaths
from etl_assets.quality.evaluate import WindowQuality, evaluate_window, quarantine_window, write_empty_quarantine
from etl_assets.quality.rules import check_names
from etl_assets.range_threads import in_order, parquet_rows


def judge_windows(
    dataset: DatasetConfig, stages: Sequence[StagePaths], references: Mapping[tuple[str, str], object]
) -> dict[str, tuple[WindowQuality, QualityVerdict]]:
    """Judge each window, by window key, all on one DuckDB database so a range pays its start-up once; a range of
    small windows is judged on every core (range_threads.py)."""
    with local_duckdb.connect() as database:
        judged = in_order(lambda stage: judge_window(dataset, stage, references, database), stages, lambda stage: parquet_rows(stage.transformed))
        return {stage.window_key: verdict for stage, verdict in zip(stages, judged)}


def judge_window(
    dataset: DatasetConfig,
    stage: StagePaths,
    references: Mapping[tuple[str, str], object],
    database: duckdb.DuckDBPyConnection | None = None,
) -> tuple[WindowQuality, QualityVerdict]:
    """Evaluate every rule on the window, take quarantined rows out, and decide whether the window may load."""
    rules = dataset.quality
    names = check_names(rules)
    now = dt.datetime.now(dt.UTC)
    quality = evaluate_window(stage.transformed, rules, names=names, references=references, now=now, database=database)
    quality = _examples_without_pii(dataset, stage, quality)
    blocked_by = tuple(o.name for o in quality.outcomes if not o.passed and o.severity == "error" and o.action != "quarantine")
    if any(rule.action == "quarantine" for rule in rules):
        split = quarantine_window(
            stage.transformed, quality, rules, names, kept_path=stage.kept, quarantine_path=stage.quarantine, excluded_path=stage.excluded
        )
        if not split.quarantined_rows:
            # An empty file still replaces the window in <TABLE>_QUARANTINE, clearing rows an earlier run put there.
            write_empty_quarantine(stage.kept, stage.quarantine)
        verdict = QualityVerdict(blocked_by, stage.kept, stage.quarantine, split.quarantined_rows, quality.score, stage.excluded)
    else:
        verdict = QualityVerdict(blocked_by, stage.transformed, None, 0, quality.score)
    stage.write_verdict(verdict)
    return quality, verdict


def _examples_without_pii(dataset: DatasetConfig, stage: StagePaths, quality: WindowQuality) -> WindowQuality:
    """The failing rows shown as the checks' examples, with the values of the window's PII columns as `***`
    (docs/architecture.md §8); the rules themselves judged the real values."""
    hidden = window_pii(dataset, stage.profile).by_target if may_hold_pii(dataset) else {}
    if not hidden:
        return quality
    outcomes = [dataclasses.replace(outcome, examples=masked_records(outcome.examples, hidden)) for outcome in quality.outcomes]
    return dataclasses.replace(quality, outcomes=outcomes)
