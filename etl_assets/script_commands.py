"""What `etl-assets scripts generate` does: run a dataset's script workflow for one window, outside Dagster."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from etl_assets.config.loader import load_config
from etl_assets.credentials.vault import Vault
from etl_assets.errors import ScriptError
from etl_assets.commands import dataset_named
from etl_assets.lake import stage_paths
from etl_assets.paths import ProjectPaths
from etl_assets.profiling.profiler import read_profile
from etl_assets.scriptgen.generate import generate_script, inputs_hash_of, uses_llm
from etl_assets.scriptgen.llm import bedrock_client_args, model_for


@dataclass(frozen=True)
class GeneratedScript:
    """What the command prints: how the script came to be, and where it is (None on a dry run)."""

    outcome: str
    path: Path | None
    log: list[str]


def generate_for_window(dataset_name: str, window_key: str, save: bool = True) -> GeneratedScript:
    """Write the dataset's script for the window's profiled upload, as the `scripts` asset would, but always anew."""
    config = load_config()
    dataset = dataset_named(config, dataset_name)
    paths = ProjectPaths.from_env()
    stage = stage_paths(paths, dataset.name, window_key)
    if not stage.profile.is_file() or not stage.upload.is_file():
        raise ScriptError(
            f"Window {window_key} of {dataset.name} has no profiled upload yet; materialize it first: dagster asset "
            f"materialize -m etl_assets.definitions --select 'uploads/{dataset.name} profiles/{dataset.name}' --partition {window_key}"
        )
    profile = read_profile(stage.profile)
    source_types = profile.inferred_types()
    if not uses_llm(dataset):
        if not save:
            return GeneratedScript("template (deterministic; nothing to dry-run)", None, [])
        saved = generate_script(dataset, source_types, paths.generated_scripts)
        return GeneratedScript(f"template{' (reused)' if saved.reused else ''}", saved.path, [])
    from etl_assets.scriptgen.workflow import ScriptRequest, write_script

    assert dataset.transform is not None
    llm = dataset.transform.llm

    def model():
        return model_for(llm, config.source_file.parent, bedrock_client_args(llm, Vault.for_home(paths.home)))

    request = ScriptRequest(dataset, profile, stage.upload, paths.generated_scripts, inputs_hash_of(dataset, source_types), model, save=save)
    outcome = write_script(request)
    log = [f"{entry['node']}: {entry['outcome']} ({entry['seconds']:.2f} s)" + _first_lines(entry["error"]) for entry in outcome.nodes]
    return GeneratedScript(f"{outcome.summary} [workflow {outcome.workflow_id}]", outcome.saved.path if outcome.saved else None, log)


def _first_lines(error: str | None, limit: int = 300) -> str:
    """A node's error on the node's own line: its first lines, the whole of it being in the JSON log."""
    if not error:
        return ""
    text = " ".join(line.strip() for line in error.splitlines() if line.strip())
    return f" - {text[:limit]}{'...' if len(text) > limit else ''}"
