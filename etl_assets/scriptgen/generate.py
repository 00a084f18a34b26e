"""Produce a dataset's ETL script: reuse the saved one while its inputs are unchanged, else render and save."""

from __future__ import annotations

from pathlib import Path

from etl_assets.config.models import DatasetConfig
from etl_assets.scriptgen.store import SavedScript, find_reusable, save_script, script_inputs_hash
from etl_assets.scriptgen.template import GENERATOR_VERSION, render_template_script

LLM_NOT_YET_AVAILABLE = "the LLM generator arrives in a later release"


def generate_script(dataset: DatasetConfig, source_types: dict[str, str], scripts_root: Path) -> SavedScript:
    """The dataset's script for these source types, saved under scripts_root."""
    inputs_hash = script_inputs_hash(dataset, source_types, GENERATOR_VERSION)
    reusable = find_reusable(scripts_root, dataset.name, inputs_hash)
    if reusable is not None:
        return reusable
    wants_llm = dataset.transform is not None and dataset.transform.generator == "llm"
    return save_script(
        scripts_root,
        dataset.name,
        render_template_script(dataset.name, dataset.transform, source_types),
        inputs_hash=inputs_hash,
        generator="template",
        generator_version=GENERATOR_VERSION,
        fallback_reason=LLM_NOT_YET_AVAILABLE if wants_llm else None,
    )
