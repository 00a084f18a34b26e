"""Writing a file so that no reader ever sees half of it, and two writers never share a temp file."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

TEMP_SUFFIX = ".tmp"
# what open() asks for; the umask then takes away what the user keeps from others
PLAIN_FILE_MODE = 0o666


@contextlib.contextmanager
def atomic_path(path: Path, *, mode: int | None = None, durable: bool = False) -> Iterator[Path]:
    """Yield a fresh temp path beside `path`; when the block ends without error it replaces `path` in one rename.

    The temp name is unique per writer, so two processes writing the same file each finish with a whole file.
    `mode` sets its permissions before anything is written; `durable` fsyncs the file and its folder.
    """
    temporary = _new_temp_file(path, mode)
    try:
        yield temporary
        if durable:
            _fsync(temporary)
        os.replace(temporary, path)
        # a rename onto another link of the same file does nothing, and leaves the temp name behind
        temporary.unlink(missing_ok=True)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if durable:
        sync_folder(path.parent)


def write_atomically(path: Path, data: bytes | str, *, mode: int | None = None, durable: bool = False) -> None:
    """Write `data` (text is written as UTF-8 with \\n line ends) to `path` through `atomic_path`."""
    content = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path, mode=mode, durable=durable) as temporary:
        temporary.write_bytes(content)


def stale_temp_files(path: Path) -> Iterator[Path]:
    """Temp files a writer of `path` killed mid-write left beside it."""
    return path.parent.glob(f".{path.name}.*{TEMP_SUFFIX}")


def _new_temp_file(path: Path, mode: int | None) -> Path:
    """An empty file beside `path` under a name no other writer has; without `mode`, permissions as a plain open gives."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
    # Created with no more than `mode` allows, so nobody can open it in between and read what is written later.
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PLAIN_FILE_MODE if mode is None else mode)
    try:
        if mode is not None:
            os.fchmod(handle, mode)  # the umask may have taken some of it away
    finally:
        os.close(handle)
    return temporary


def free_path(path: Path) -> Path:
    """`path`, or `name-2.ext`, `name-3.ext`... when it is taken, so nothing kept there is replaced."""
    candidate, counter = path, 2
    while candidate.exists():
        candidate, counter = path.with_name(f"{path.stem}-{counter}{path.suffix}"), counter + 1
    return candidate


def sync_folder(folder: Path) -> None:
    """Make the folder's entries (files created, renamed or removed in it) survive a power cut."""
    _fsync(folder)


def _fsync(target: Path) -> None:
    descriptor = os.open(target, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
