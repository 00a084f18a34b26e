"""The vault file on disk: its JSON shape, read whole or written whole (temp file, fsync, rename), mode 0600."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from etl_assets.errors import CredentialsError

VAULT_VERSION = 1
PRIVATE_FILE_MODE = 0o600
TEMP_SUFFIX = ".tmp"


class StoredProfile(BaseModel):
    """One profile as written: clear fields, Fernet tokens, and the fingerprint of the key that made them."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    kind: Literal["snowflake", "s3", "bedrock"]
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
        write_private_file(path, document.encode())
    except OSError as exc:
        raise CredentialsError(
            f"The credentials vault {path} could not be written ({exc.strerror}), so it was left as it was; "
            "free some disk space or fix the folder's permissions and try again."
        ) from None


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by its owner only: temp file, fsync, rename, fsync of the folder."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as temp:
            os.fchmod(temp.fileno(), PRIVATE_FILE_MODE)
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_folder(path.parent)


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
    for stale in path.parent.glob(f".{path.name}.*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
