"""One subject's records taken out of the archived uploads, keeping the archive's index true (docs/architecture.md §8).

The archive names each first arrival's bytes by their content hash (`<sha256><ext>`, its record in
`<sha256>.meta.json`, later arrivals of the same bytes in `arrivals/`). A rewritten file gets the name of its new
hash, in steps that each leave a readable archive: the new bytes are placed, the first arrival's record is pointed
at them (from then on the window's upload reads the rewritten file), later arrivals follow, the record takes its new
name, and the old bytes go. The window keeps its order and its newest version of each name, since the records keep
their names and times; a landed file with the old bytes is new content again. Bytes no record names (what an
interrupted run left) are rewritten where they lie, so a second erase finds nothing anywhere.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import zstandard

from etl_assets.compliance.record_filters import (
    without_delimited_records,
    without_json_items,
    without_json_lines,
    without_parquet_rows,
)
from etl_assets.compliance.subject import ErasureError, Subject
from etl_assets.config.models import SourceConfig
from etl_assets.errors import IngestError
from etl_assets.files import TEMP_SUFFIX, sync_folder, write_atomically
from etl_assets.ingest.archive import ARRIVALS_FOLDER, DUPLICATES_FOLDER, PARTIAL_PREFIX, SIDECAR_SUFFIX
from etl_assets.ingest.compression import compression_of, decompressed, without_compression_suffix
from etl_assets.ingest.encodings import detect_encoding
from etl_assets.ingest.members import ZIP_MAGIC, read_options
from etl_assets.ingest.model import Opener
from etl_assets.ingest.readers import SNIFF_BYTES, detect_format

REWRITABLE_FORMATS = ("csv", "tsv", "jsonl", "json", "parquet")


@dataclass(frozen=True)
class ArchivedContent:
    """Bytes kept in the archive: their path, the name they arrived under, and the record naming them (None for a
    later arrival's copy in `duplicates/`, or bytes no record names)."""

    path: Path
    original_name: str
    record: Path | None = None


def archived_contents(dataset_archive: Path) -> list[ArchivedContent]:
    """Every file of bytes in every window folder of the dataset's archive."""
    contents = []
    for window in sorted(folder for folder in dataset_archive.glob("*") if folder.is_dir()):
        named: dict[Path, ArchivedContent] = {}
        for record in sorted(window.glob(f"*{SIDECAR_SUFFIX}")):
            first = json.loads(record.read_text(encoding="utf-8"))
            path = window / (first["sha256"] + PurePosixPath(first["original_name"]).suffix.lower())
            if path.is_file():
                named[path] = ArchivedContent(path, first["original_name"], record)
        contents += named.values()
        for path in sorted(window.iterdir()):
            if path.is_file() and path not in named and not _is_bookkeeping(path):
                contents.append(ArchivedContent(path, path.name))
        for path in sorted((window / DUPLICATES_FOLDER).glob("*")):
            if path.is_file():
                contents.append(ArchivedContent(path, path.name.split("-", 1)[-1]))
    return contents


def unrewritable(contents: list[ArchivedContent], source: SourceConfig) -> list[str]:
    """The archived files erase cannot rewrite record by record (zips, workbooks, compressed Parquet), by name."""
    return [f"{content.original_name} ({content.path.name})" for content in contents if _format(content, source) is None]


def erase_from_archived(content: ArchivedContent, source: SourceConfig, subject: Subject, *, write: bool, splits: Path | None = None) -> int:
    """The subject's records in one archived file; when `write`, the file is rewritten without them (renamed by its
    new hash when a record names it). `splits` is where a row-dated dataset keeps each file's rows by hash."""
    fmt = _format(content, source)
    if fmt is None or subject.source_column is None:
        return 0
    temporary = content.path.with_name(f"{PARTIAL_PREFIX}{uuid.uuid4().hex}")
    try:
        with _compressed_writer(temporary if write else Path(os.devnull), _compression(content)) as target:
            removed = _filter(content, fmt, source, subject, target)
        if write and removed:
            _replace(content, temporary)
            if splits is not None:
                shutil.rmtree(splits / content.path.name.split(".")[0], ignore_errors=True)
        return removed
    finally:
        temporary.unlink(missing_ok=True)


def _filter(content: ArchivedContent, fmt: str, source: SourceConfig, subject: Subject, target: BinaryIO) -> int:
    opener = _opener(content)
    if fmt == "parquet":
        return without_parquet_rows(str(content.path), target, subject)
    encoding = source.encoding or detect_encoding(opener, content.original_name)
    if encoding is None:
        raise ErasureError(f"The archived upload {content.original_name!r} is not text in an encoding we recognise; nothing was erased.")
    if fmt == "jsonl":
        return without_json_lines(opener, target, encoding, subject)
    if fmt == "json":
        return without_json_items(opener, target, encoding, subject)
    return without_delimited_records(opener, target, encoding, fmt, read_options(source), subject, content.original_name)


def _replace(content: ArchivedContent, temporary: Path) -> None:
    """Put the rewritten bytes in place of the old ones (see the module's docstring for the order)."""
    window = content.path.parent
    if content.record is None:
        os.replace(temporary, content.path)
        return
    sha256 = _sha256(temporary)
    new_path = window / (sha256 + PurePosixPath(content.original_name).suffix.lower())
    os.replace(temporary, new_path)
    size = new_path.stat().st_size
    sync_folder(window)
    first = json.loads(content.record.read_text(encoding="utf-8"))
    old_sha256 = first["sha256"]
    write_atomically(content.record, json.dumps({**first, "sha256": sha256, "size": size}, indent=2), durable=True)
    for arrival in sorted((window / ARRIVALS_FOLDER).glob("*.json")):
        later = json.loads(arrival.read_text(encoding="utf-8"))
        if later["sha256"] == old_sha256:
            write_atomically(arrival, json.dumps({**later, "sha256": sha256, "size": size}, indent=2))
    new_record = window / f"{sha256}{SIDECAR_SUFFIX}"
    if not new_record.exists():  # another file that now holds the same bytes keeps its own record
        os.replace(content.record, new_record)
    if content.path != new_path:
        content.path.unlink(missing_ok=True)


def _format(content: ArchivedContent, source: SourceConfig) -> str | None:
    """The file's format once decompressed, when erase can rewrite it; None for a zip, a workbook or compressed Parquet."""
    try:
        compression = _compression(content)
        name = without_compression_suffix(content.original_name) if compression else content.original_name
        opener = _opener(content)
        with opener() as handle:
            head = handle.read(SNIFF_BYTES)
        if PurePosixPath(name).suffix.lower() == ".zip" or (head.startswith(ZIP_MAGIC) and source.format != "xlsx" and detect_format(opener, name) != "xlsx"):
            return None
        fmt = detect_format(opener, name) if source.format == "auto" else source.format
    except (IngestError, OSError, EOFError):
        return None
    if fmt not in REWRITABLE_FORMATS or (fmt == "parquet" and compression):
        return None
    return fmt


def _compression(content: ArchivedContent) -> str | None:
    with content.path.open("rb") as handle:
        return compression_of(content.original_name, handle.read(SNIFF_BYTES))


def _opener(content: ArchivedContent) -> Opener:
    """The file's bytes, decompressed as the upload reads them (with no bound on how far they expand: they were
    read once already)."""
    plain = partial(content.path.open, "rb")
    compression = _compression(content)
    if compression is None:
        return plain
    return decompressed(plain, compression, content.original_name, content.path.stat().st_size, float("inf"))


@contextmanager
def _compressed_writer(path: Path, compression: str | None) -> Iterator[BinaryIO]:
    """`path` opened for writing, compressed as the original was (gzip without a time stamp, so a rerun writes the
    same bytes)."""
    with path.open("wb") as raw:
        if compression == "gzip":
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as target:
                yield target  # type: ignore[misc]
        elif compression == "bz2":
            with bz2.BZ2File(raw, "wb") as target:
                yield target  # type: ignore[misc]
        elif compression == "zstd":
            with zstandard.ZstdCompressor().stream_writer(raw, closefd=False) as target:
                yield target  # type: ignore[misc]
        else:
            yield raw
        raw.flush()
        if path != Path(os.devnull):
            os.fsync(raw.fileno())


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _is_bookkeeping(path: Path) -> bool:
    """The archive's records and the temporary files of a write under way."""
    return path.name.endswith(SIDECAR_SUFFIX) or path.name.startswith((PARTIAL_PREFIX, ".")) or path.name.endswith(TEMP_SUFFIX)
