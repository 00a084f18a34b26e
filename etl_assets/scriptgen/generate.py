"""Produce a dataset's ETL script: reuse the saved one while its inputs are unchanged, else write and save one.

The template renders in microseconds and needs no checking; `generator: llm` runs the LangGraph workflow
(workflow.py), which falls back to the template when the model fails. Either way the script is saved under its
inputs hash, so a failed model call is made once per inputs, not once per window (docs/architecture.md §7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from etl_assets.config.models import DatasetConfig
from etl_assets.profiling.model import Profile
from etl_assets.scriptgen.llm import LLM_GENERATOR_VERSION, ScriptModel
from etl_assets.scriptgen.store import SavedScript, find_reusable, save_script, script_inputs_hash
from etl_assets.scriptgen.template import GENERATOR_VERSION, render_template_script

# an empty window gives the model nothing to see or dry-run: its script is the template's, saved with this reason
NO_ROWS_FOR_THE_MODEL = "the window has no rows to show the model"


@dataclass(frozen=True)
class WindowSample:
    """What the LLM path needs of a window beyond its schema: its profile for the prompt, its upload for the dry run."""

    profile: Profile
    upload: Path
    # the model, built on first use only: Bedrock credentials are decrypted when a script is really written
    model: Callable[[], ScriptModel]


def uses_llm(dataset: DatasetConfig) -> bool:
    return dataset.transform is not None and dataset.transform.generator == "llm"


def generate_script(
    dataset: DatasetConfig, source_types: dict[str, str], scripts_root: Path, sample: WindowSample | None = None
) -> SavedScript:
    """The dataset's script for these source types, saved under scripts_root; `sample` is needed for generator llm."""
    inputs_hash = inputs_hash_of(dataset, source_types)
    reusable = find_reusable(scripts_root, dataset.name, inputs_hash)
    if reusable is not None:
        return reusable
    if uses_llm(dataset) and sample is not None:
        from etl_assets.scriptgen.workflow import ScriptRequest, write_script

        outcome = write_script(ScriptRequest(dataset, sample.profile, sample.upload, scripts_root, inputs_hash, sample.model))
        assert outcome.saved is not None
        return outcome.saved
    return save_script(
        scripts_root,
        dataset.name,
        render_template_script(dataset.name, dataset.transform, source_types),
        inputs_hash=inputs_hash,
        generator="template",
        generator_version=GENERATOR_VERSION,
        fallback_reason=NO_ROWS_FOR_THE_MODEL if uses_llm(dataset) else None,
    )


def inputs_hash_of(dataset: DatasetConfig, source_types: dict[str, str]) -> str:
    """The hash a script is saved and found under: an llm script's also covers the provider, model and prompt version."""
    return script_inputs_hash(dataset, source_types, LLM_GENERATOR_VERSION if uses_llm(dataset) else GENERATOR_VERSION)
