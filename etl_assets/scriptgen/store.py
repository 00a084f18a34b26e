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
    # edited by hand since it was saved: kept until the inputs change
    pinned: bool = False


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
    """The saved script made from these inputs, if it and its log are still there.

    A script edited by hand since it was saved is kept, and marked `pinned` in the index: its user's code runs
    (in the sandbox, like any script) until the inputs change and a new script is written for them.
    """
    folder = root / dataset_name
    entry = _read_json(folder / INDEX_FILE).get(inputs_hash)
    saved_hash, pinned = (entry, False) if isinstance(entry, str) else ((entry or {}).get("content_hash"), bool((entry or {}).get("pinned")))
    if not isinstance(saved_hash, str):
        return None
    if not (folder / f"{saved_hash}.py").is_file() or not _read_json(folder / f"{saved_hash}.json"):
        return None
    edited = _set_aside_edited(folder, saved_hash)
    content_hash, pinned = (edited, True) if edited else (saved_hash, pinned)
    path = folder / f"{content_hash}.py"
    log = _read_json(folder / f"{content_hash}.json")
    return SavedScript(
        path=path,
        content_hash=content_hash,
        inputs_hash=inputs_hash,
        generator=log["generator"],
        reused=True,
        fallback_reason=log.get("fallback_reason"),
        model=log.get("model"),
        pinned=pinned,
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
        # the script saved before this one, which the UI shows the diff against
        "previous": _latest_script(folder),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    try:
        _set_aside_edited(folder, content_hash)
        write_atomically(path, code)
        write_atomically(folder / f"{content_hash}.json", json.dumps(log, indent=2) + "\n")
        _write_index_entry(folder, inputs_hash, content_hash)
    except OSError as error:
        raise ScriptError(
            f"Could not save the generated script for dataset '{dataset_name}' under {folder} ({error.strerror}); "
            "check that the folder is writable."
        ) from error
    return SavedScript(path, content_hash, inputs_hash, generator, reused=False, fallback_reason=fallback_reason, model=model)


def _latest_script(folder: Path) -> str | None:
    """The content hash of the dataset's most recently saved script, or None."""
    logs = [path for path in folder.glob("*.json") if path.name != INDEX_FILE] if folder.is_dir() else []
    dated = [(str(_read_json(path).get("created_at", "")), path.stat().st_mtime_ns, path.stem) for path in logs]
    return max(dated)[2] if dated else None


def read_log(saved: SavedScript) -> dict:
    """The JSON log beside a saved script: how it was made, and for a model's script its workflow's nodes."""
    return _read_json(saved.path.with_suffix(".json"))


def _set_aside_edited(folder: Path, name_hash: str) -> str | None:
    """If `<name_hash>.py` was edited by hand, save it under its own content hash (with a copy of its log), point
    every input that used it there as pinned, and return that hash; None when it is as saved (or absent).

    So an edit is never overwritten: not by the same code rendered again for other inputs, nor by a later save.
    """
    path = folder / f"{name_hash}.py"
    try:
        code = path.read_bytes()
    except OSError:
        return None
    content_hash = _sha256(code)
    if content_hash == name_hash:
        return None
    log = _read_json(folder / f"{name_hash}.json") | {"content_hash": content_hash, "edited_from": name_hash}
    write_atomically(folder / f"{content_hash}.py", code.decode("utf-8", "replace"))
    write_atomically(folder / f"{content_hash}.json", json.dumps(log, indent=2) + "\n")
    index = _read_json(folder / INDEX_FILE)
    for inputs_hash, entry in index.items():
        if entry == name_hash or (isinstance(entry, dict) and entry.get("content_hash") == name_hash):
            index[inputs_hash] = {"content_hash": content_hash, "pinned": True}
    _write_index(folder, index)
    path.unlink()
    return content_hash


def _write_index_entry(folder: Path, inputs_hash: str, entry: str | dict) -> None:
    """Point `inputs_hash` at a script: its content hash, or {"content_hash", "pinned"} for one edited by hand."""
    _write_index(folder, _read_json(folder / INDEX_FILE) | {inputs_hash: entry})


def _write_index(folder: Path, index: dict) -> None:
    write_atomically(folder / INDEX_FILE, json.dumps(index, indent=2, sort_keys=True) + "\n")


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
