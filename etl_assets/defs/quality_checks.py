"""Quality rules as asset checks on `transformed/<dataset>`: evaluated per window, quarantine applied, verdict kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg
import pyarrow as pa

from etl_assets.config.models import DatasetConfig, ProjectConfig
from etl_assets.markdown import markdown_table
from etl_assets.defs.resources import SnowflakeWarehouse
from etl_assets.lake import QualityVerdict
from etl_assets.paths import ProjectPaths
from etl_assets.quality.evaluate import RuleOutcome, WindowQuality
from etl_assets.quality.references import loaded_keys
from etl_assets.quality.rules import check_names, describe

EXAMPLE_ROWS = 20


def quality_check_specs(dataset: DatasetConfig, asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """One check per rule, named `<rule>_<column>`; error rules hold back their window's load (see loading.py)."""
    return [
        dg.AssetCheckSpec(name, asset=asset_key, description=describe(rule))
        for name, rule in zip(check_names(dataset.quality), dataset.quality, strict=True)
    ]


def check_results(dataset: DatasetConfig, qualities: Mapping[str, WindowQuality]) -> list[dg.AssetCheckResult]:
    """Each rule's outcome over the run's windows; the failing windows are listed, so a backfill shows which."""
    results = []
    for index, name in enumerate(check_names(dataset.quality)):
        per_window = {key: quality.outcomes[index] for key, quality in qualities.items()}
        results.append(rule_result(name, per_window, sum(q.rows_total for q in qualities.values())))
    return results


def rule_result(name: str, per_window: Mapping[str, RuleOutcome], rows_total: int) -> dg.AssetCheckResult:
    outcomes = list(per_window.values())
    failing_windows = [key for key, outcome in per_window.items() if not outcome.passed]
    failing = sum(outcome.failing_count for outcome in outcomes)
    examples = [example for outcome in outcomes for example in outcome.examples][:EXAMPLE_ROWS]
    first = outcomes[0]
    # A quarantine rule has done its job when it fails: the rows are out, so it only warns.
    severity = dg.AssetCheckSeverity.ERROR if first.severity == "error" and first.action != "quarantine" else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        check_name=name,
        passed=not failing_windows,
        severity=severity,
        description=first.description,
        metadata={
            "failing_count": failing,
            "failing_percent": round(100.0 * failing / rows_total, 3) if rows_total else 0.0,
            "failing_windows": ", ".join(failing_windows) or "(none)",
            "action": first.action,
            "examples": dg.MetadataValue.md(examples_table(examples)),
            "detail": "; ".join(f"{key}: {o.detail}" for key, o in per_window.items() if o.detail) or "(none)",
        },
    )


def examples_table(examples: Sequence[dict]) -> str:
    if not examples:
        return "(no failing rows)"
    header = list(dict.fromkeys(key for example in examples for key in example))
    return markdown_table(header, [[example.get(key) for key in header] for example in examples])


def reference_data(
    dataset: DatasetConfig, config: ProjectConfig, paths: ProjectPaths, warehouse: SnowflakeWarehouse
) -> dict[tuple[str, str], object]:
    """For each `references` rule: the other dataset's loaded keys, or its transformed files when it has no warehouse."""
    references: dict[tuple[str, str], object] = {}
    for rule in dataset.quality:
        if rule.rule != "references":
            continue
        other = config.datasets[rule.dataset]
        loaded = _loaded_keys(other, rule.key, warehouse)
        transformed = sorted((paths.dataset_lake(other.name) / "transformed").glob("*.parquet"))
        references[(rule.dataset, rule.key)] = loaded if loaded is not None else transformed
    return references


def _loaded_keys(other: DatasetConfig, key: str, warehouse: SnowflakeWarehouse) -> pa.Table | None:
    """The distinct keys of the other dataset's table, or None when it has no reachable, existing table."""
    if not warehouse.has_connection(other.warehouse.connection):
        return None
    with warehouse.get_connection(other.warehouse.connection) as connection:
        return loaded_keys(connection, other, key)


def quality_metadata(quality: WindowQuality, verdict: QualityVerdict) -> dict[str, object]:
    """What one window's quality rules made of it: its score, the rows they quarantined and whether it loads."""
    return {
        "quality_score": round(quality.score, 4),
        "rows_quarantined": verdict.quarantined_rows,
        "held_back_by": ", ".join(verdict.blocked_by) or "(none: the window loads)",
    }
