"""Generated scripts on disk: `<root>/<dataset>/<content_hash>.py`, a JSON log beside each, and an index for reuse."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from etl_assets.config.models import DatasetConfig
from etl_assets.errors import ScriptError
from etl_assets.files import write_atomically

INDEX_FILE = "index.json"
HASH_LENGTH = 16


@dataclass(frozen=True)
class SavedScript:
    """A script saved under generated_scripts, and whether it was reused rather than generated now."""

    path: Path
    content_hash: str
    inputs_hash: str
    generator: str
    reused: bool
    fallback_reason: str | None = None
    # the model that wrote it, for an llm script
    model: str | None = None


def script_inputs_hash(dataset: DatasetConfig, source_types: dict[str, str], generator_version: str) -> str:
    """A hash of what a script depends on: transform spec and requirements, source schema, generator version."""
    # the sandbox's limits change how a script runs, not its code; a template script owes nothing to the llm block
    excluded = {"sandbox"} | ({"llm"} if dataset.transform is None or dataset.transform.generator == "template" else set())
    transform = None if dataset.transform is None else dataset.transform.model_dump(mode="json", by_alias=True, exclude=excluded)
    inputs = {
        "dataset": dataset.name,
        "transform": transform,
        "source_types": [[name, logical_type] for name, logical_type in source_types.items()],
        "generator_version": generator_version,
    }
    return _sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def find_reusable(root: Path, dataset_name: str, inputs_hash: str) -> SavedScript | None:
    """The saved script made from these inputs, if it and its log are still there and unchanged."""
    folder = root / dataset_name
    content_hash = _read_json(folder / INDEX_FILE).get(inputs_hash)
    if content_hash is None:
        return None
    path = folder / f"{content_hash}.py"
    log = _read_json(folder / f"{content_hash}.json")
    if not path.is_file() or not log or _sha256(path.read_bytes()) != content_hash:
        return None
    return SavedScript(
        path=path,
        content_hash=content_hash,
        inputs_hash=inputs_hash,
        generator=log["generator"],
        reused=True,
        fallback_reason=log.get("fallback_reason"),
        model=log.get("model"),
    )


def save_script(
    root: Path,
    dataset_name: str,
    code: str,
    *,
    inputs_hash: str,
    generator: str,
    generator_version: str,
    fallback_reason: str | None = None,
    model: str | None = None,
) -> SavedScript:
    """Save the code under its content hash with a JSON log, and remember it for these inputs."""
    folder = root / dataset_name
    content_hash = _sha256(code.encode("utf-8"))
    path = folder / f"{content_hash}.py"
    log = {
        "dataset": dataset_name,
        "generator": generator,
        "generator_version": generator_version,
        "inputs_hash": inputs_hash,
        "content_hash": content_hash,
        "fallback_reason": fallback_reason,
        "model": model,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    try:
        write_atomically(path, code)
        write_atomically(folder / f"{content_hash}.json", json.dumps(log, indent=2) + "\n")
        index = _read_json(folder / INDEX_FILE)
        index[inputs_hash] = content_hash
        write_atomically(folder / INDEX_FILE, json.dumps(index, indent=2, sort_keys=True) + "\n")
    except OSError as error:
        raise ScriptError(
            f"Could not save the generated script for dataset '{dataset_name}' under {folder} ({error.strerror}); "
            "check that the folder is writable."
        ) from error
    return SavedScript(path, content_hash, inputs_hash, generator, reused=False, fallback_reason=fallback_reason, model=model)


def update_log(saved: SavedScript, extra: dict) -> None:
    """Add `extra` to the JSON log beside a saved script (the workflow's node log, for one)."""
    log_path = saved.path.with_suffix(".json")
    log = _read_json(log_path) | extra
    try:
        write_atomically(log_path, json.dumps(log, indent=2, default=str) + "\n")
    except OSError as error:
        raise ScriptError(f"Could not write the script log {log_path} ({error.strerror}); check that the folder is writable.") from error


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_LENGTH]


def _read_json(path: Path) -> dict:
    # The index and logs are caches of what is on disk: an unreadable one only means regenerating.
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def saved_generator_version(script: Path) -> str | None:
    """The generator version in the log beside a saved script; None when the log is missing or unreadable."""
    return _read_json(script.with_suffix(".json")).get("generator_version")
