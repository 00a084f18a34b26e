"""Rule mistakes that `etl-assets validate` reports before anything runs: regexes, columns, bounds, references."""

from __future__ import annotations

from etl_assets.config.models import DatasetConfig
from etl_assets.quality.rule_types import rule_type
from etl_assets.quality.rule_types.base import DatasetFacts


def rule_problems(dataset: DatasetConfig, dataset_names: set[str]) -> list[tuple[str, str]]:
    """(field path such as `quality[2].pattern`, one-sentence problem) for each mistake in the dataset's rules."""
    declared = None
    if dataset.transform and dataset.transform.columns:
        declared = {name: spec.type for name, spec in dataset.transform.columns.items()}
    facts = DatasetFacts(declared, dataset_names)
    return [
        (f"quality[{index}]{'.' + field if field else ''}", problem)
        for index, rule in enumerate(dataset.quality)
        for field, problem in rule_type(rule).problems(facts)
    ]
