"""The files one upload holds, each read as a file of its own: the upload itself, plain or compressed (gzip, bz2,
zstd); a zip's members, named `archive.zip/member.csv`, each of them plain or compressed; a workbook's sheets,
named `book.xlsx/Sheet1`. A zip inside a zip or inside a compression is not unpacked."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from etl_assets.config.models import SourceConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.compression import compression_of, decompressed, unzipped, without_compression_suffix
from etl_assets.ingest.excel import workbook_sheets
from etl_assets.ingest.model import Opener, ReadOptions, StreamedRead
from etl_assets.ingest.readers import SNIFF_BYTES, detect_format, is_workbook, stream_opened

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record that alone makes an empty zip
MACOS_METADATA_FOLDER = "__MACOSX"
# Parquet and workbooks are read by random access, so unpacked ones are copied to a file first.
RANDOM_ACCESS_FORMATS = ("parquet", "xlsx")
COPY_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class _Reading:
    """How every member is read: the source's format and encoding (None: detected), its options, and the folder for
    the temporary copies of unpacked Parquet and workbooks."""

    fmt: str
    encoding: str | None
    options: ReadOptions
    scratch: Path


def read_options(source: SourceConfig) -> ReadOptions:
    """The reading options the dataset's source sets."""
    return ReadOptions(
        delimiter=source.delimiter,
        quote=source.quote,
        escape=source.escape,
        null_values=tuple(source.null_values),
        skip_rows=source.skip_rows,
        header=source.header,
        decimal=source.decimal,
        sheets=tuple(source.sheets) if source.sheets is not None else None,
        max_expansion_ratio=source.max_expansion_ratio,
    )


def source_members(path: Path, original_name: str, source: SourceConfig, scratch: Path) -> Iterator[tuple[str, StreamedRead]]:
    """`file_members` read as the dataset's source says: its format, encoding and options."""
    return file_members(path, original_name, source.format, source.encoding, read_options(source), scratch=scratch)


def file_members(
    path: Path,
    original_name: str,
    fmt: str = "auto",
    encoding: str | None = None,
    options: ReadOptions = ReadOptions(),
    scratch: Path | None = None,
) -> Iterator[tuple[str, StreamedRead]]:
    """Each file the upload at `path` holds, in order, as (its name in lineage, its read); `fmt` (auto: each member's
    own) and `encoding` apply to every member, and a compressed file or a zip member that expands past
    `options.max_expansion_ratio` times its compressed size is refused.

    Read each member's batches before asking for the next: the zip is open, and the temporary copy an unpacked Parquet
    or workbook is read from (in `scratch`, by default the file's folder) is there, until then.
    """
    reading = _Reading(fmt, encoding, options, scratch or path.parent)
    opener = partial(path.open, "rb")
    head = _head(opener)
    compression = compression_of(original_name, head)
    if compression:
        inner = decompressed(opener, compression, original_name, path.stat().st_size, options.max_expansion_ratio)
        yield from _unpacked_member(inner, original_name, without_compression_suffix(original_name), reading)
    elif _is_zip(original_name, head, fmt):
        yield from _zip_members(path, original_name, reading)
    else:
        yield from _read_local(path, original_name, detect_format(opener, original_name) if fmt == "auto" else fmt, reading)


def _zip_members(path: Path, name: str, reading: _Reading) -> Iterator[tuple[str, StreamedRead]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(f"{name!r} is not a readable zip file ({exc}); upload it again in full.") from None
    with archive:
        members = [info for info in archive.infolist() if _holds_data(info)]
        if not members:
            raise IngestError(f"{name!r} holds no files; upload a zip with the files to load in it.")
        for info in members:
            member_name = f"{name}/{info.filename}"
            if info.flag_bits & 0x1:
                raise IngestError(f"{member_name!r} is encrypted; zip the files again without a password and upload the zip.")
            ratio = reading.options.max_expansion_ratio
            member = unzipped(partial(_open_member, archive, info, member_name), member_name, info.compress_size, ratio)
            compression = compression_of(info.filename, _head(member))
            if compression:
                member = decompressed(member, compression, member_name, info.compress_size, ratio)
            yield from _unpacked_member(member, member_name, without_compression_suffix(member_name), reading)


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, member_name: str) -> zipfile.ZipExtFile:
    try:
        return archive.open(info)
    except (zipfile.BadZipFile, NotImplementedError) as exc:  # a damaged header; a compression zipfile lacks
        raise IngestError(f"{member_name!r} cannot be unpacked from its zip file ({exc}); zip the files again and upload the zip.") from None


def _holds_data(info: zipfile.ZipInfo) -> bool:
    """Not a folder, nor what macOS adds to a zip (`__MACOSX/`, `.DS_Store`) or another hidden file."""
    parts = PurePosixPath(info.filename).parts
    return not info.is_dir() and MACOS_METADATA_FOLDER not in parts and not parts[-1].startswith(".")


def _unpacked_member(opener: Opener, name: str, format_name: str, reading: _Reading) -> Iterator[tuple[str, StreamedRead]]:
    """A file read as it is decompressed or unzipped; `format_name` tells its format (its name without `.gz`)."""
    if _is_zip(format_name, _head(opener), reading.fmt):
        raise IngestError(f"{name!r} is a zip inside a zip or a compressed file, which is not unpacked; upload the files it holds.")
    resolved = detect_format(opener, format_name) if reading.fmt == "auto" else reading.fmt
    if resolved not in RANDOM_ACCESS_FORMATS:
        yield name, stream_opened(opener, resolved, name, reading.encoding, reading.options)
        return
    with _unpacked_copy(opener, reading.scratch) as copy:
        yield from _read_local(copy, name, resolved, reading)


def _read_local(path: Path, name: str, resolved: str, reading: _Reading) -> Iterator[tuple[str, StreamedRead]]:
    """A file of format `resolved` whose bytes lie in `path`."""
    if resolved == "xlsx":
        yield from workbook_sheets(path, name, reading.options.sheets)
    else:
        yield name, stream_opened(partial(path.open, "rb"), resolved, name, reading.encoding, reading.options)


def _is_zip(name: str, head: bytes, fmt: str) -> bool:
    """A zip of files: by its name, else by its first bytes, unless it is a workbook (which is a zip too)."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".zip":
        return True
    return fmt != "xlsx" and suffix != ".xlsx" and head.startswith(ZIP_MAGIC) and not is_workbook(head)


def _head(opener: Opener) -> bytes:
    with opener() as handle:
        return handle.read(SNIFF_BYTES)


@contextmanager
def _unpacked_copy(opener: Opener, folder: Path) -> Iterator[Path]:
    """The bytes `opener` gives, in a temporary file in `folder` that is removed on leaving."""
    descriptor, name = tempfile.mkstemp(prefix=".unpacked-", dir=folder)
    copy = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as target, opener() as source:
            shutil.copyfileobj(source, target, COPY_CHUNK_BYTES)
        yield copy
    finally:
        copy.unlink(missing_ok=True)
