"""The vault file on disk: its JSON shape, read whole or written whole (atomically and durably), mode 0600."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from etl_assets.errors import CredentialsError
from etl_assets.files import stale_temp_files, write_atomically

VAULT_VERSION = 1
PRIVATE_FILE_MODE = 0o600


class StoredProfile(BaseModel):
    """One profile as written: clear fields, Fernet tokens, and the fingerprint of the key that made them."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    kind: Literal["snowflake", "s3", "bedrock", "hash_key"]
    fields: dict[str, Any]
    secrets: dict[str, str]
    key_id: str


class StoredVault(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    version: Literal[1] = VAULT_VERSION
    profiles: dict[str, StoredProfile]


def damaged(path: Path, detail: str) -> CredentialsError:
    return CredentialsError(
        f"The credentials vault {path} is damaged ({detail}); restore it from a backup, or move it aside "
        "and add the profiles again with `etl-assets credentials set`."
    )


def read_vault(path: Path) -> dict[str, StoredProfile]:
    """The stored profiles by name; a missing file is an empty vault."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialsError(
            f"The credentials vault {path} cannot be read ({exc.strerror}); check ETL_ASSETS_HOME and that the file is "
            "yours to read."
        ) from None
    try:
        document = json.loads(raw)
    except ValueError:
        raise damaged(path, "it is not complete JSON") from None
    try:
        return StoredVault.model_validate(document).profiles
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "the top level"
        raise damaged(path, f"{where}: {first['msg']}") from None


def write_vault(path: Path, profiles: dict[str, StoredProfile]) -> None:
    """Replace the vault file with `profiles` in one step, so a crash leaves the old file or the new, never half."""
    document = StoredVault(profiles=dict(sorted(profiles.items()))).model_dump_json(indent=2) + "\n"
    try:
        write_atomically(path, document, mode=PRIVATE_FILE_MODE, durable=True)
    except OSError as exc:
        raise CredentialsError(
            f"The credentials vault {path} could not be written ({exc.strerror}), so it was left as it was; "
            "free some disk space or fix the folder's permissions and try again."
        ) from None


@contextlib.contextmanager
def vault_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the vault's folder, so two writers never lose each other's change."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        _remove_stale_temp_files(path)
        yield
    finally:
        os.close(folder)


def _remove_stale_temp_files(path: Path) -> None:
    # Only a writer killed mid-write leaves one, and under the lock no other writer is busy with it.
    for stale in stale_temp_files(path):
        stale.unlink(missing_ok=True)
