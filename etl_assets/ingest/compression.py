"""Compressed uploads read as streams: gzip, bz2 and zstd undone a bounded piece at a time as the readers ask, with
the bytes they expand to counted, so a bomb is stopped early and a broken file is named instead of a traceback."""

from __future__ import annotations

import bz2
import gzip
import io
import re
import zipfile
import zlib
from pathlib import PurePosixPath
from typing import BinaryIO

import zstandard

from etl_assets.errors import IngestError
from etl_assets.ingest.model import Opener

COMPRESSION_BY_SUFFIX = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
COMPRESSION_BY_MAGIC = (
    (re.compile(rb"\x1f\x8b\x08"), "gzip"),
    (re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)"), "bz2"),  # a block's magic or the end of an empty stream
    (re.compile(rb"\x28\xb5\x2f\xfd"), "zstd"),
)
# The first MiB of output never counts against the ratio, so a small file of repeated text is read whatever its ratio.
EXPANSION_FLOOR_BYTES = 1 << 20
# A KiB of zstd input expands to at most about 32 MiB, so each step's output stays small even in a bomb.
ZSTD_PIECE_BYTES = 1024
READ_BUFFER_BYTES = 1 << 20


def compression_of(name: str, head: bytes) -> str | None:
    """gzip, bz2 or zstd by the name's ending, else by the file's first bytes; None for a file not compressed."""
    by_suffix = COMPRESSION_BY_SUFFIX.get(PurePosixPath(name).suffix.lower())
    return by_suffix or next((compression for magic, compression in COMPRESSION_BY_MAGIC if magic.match(head)), None)


def without_compression_suffix(name: str) -> str:
    """`orders.csv.gz` -> `orders.csv`, the name that tells the format; other names unchanged."""
    suffix = PurePosixPath(name).suffix
    return name[: -len(suffix)] if suffix.lower() in COMPRESSION_BY_SUFFIX else name


def decompressed(open_compressed: Opener, compression: str, name: str, compressed_size: int, max_ratio: float) -> Opener:
    """An opener of `open_compressed`'s bytes decompressed (gzip, bz2 or zstd) as they are read, the output counted
    against `max_ratio` times `compressed_size`."""

    def open_decompressed() -> BinaryIO:
        source = open_compressed()
        return _buffered(_Counted(_decompressing(source, compression), source, name, compression, compressed_size, max_ratio))

    return open_decompressed


def _decompressing(source: BinaryIO, compression: str) -> BinaryIO:
    if compression == "gzip":
        return gzip.GzipFile(fileobj=source)  # type: ignore[return-value]
    if compression == "bz2":
        return bz2.BZ2File(source)  # type: ignore[return-value]
    return _ZstdFrames(source)  # type: ignore[return-value]


def unzipped(open_member: Opener, name: str, compressed_size: int, max_ratio: float) -> Opener:
    """An opener of a zip member (`open_member` gives ZipFile.open's stream), counted as `decompressed` counts."""
    return lambda: _buffered(_Counted(open_member(), None, name, "zip", compressed_size, max_ratio))


def _buffered(raw: io.RawIOBase) -> BinaryIO:
    # BufferedReader.read(n) gathers n bytes from short raw reads, as the encoding sample expects of a file.
    return io.BufferedReader(raw, READ_BUFFER_BYTES)  # type: ignore[return-value]


class _Counted(io.RawIOBase):
    """A decompressing stream's output, counted against the expansion ratio, its failures IngestErrors naming the file;
    `source`, the compressed file under it, is closed with it."""

    def __init__(self, stream: BinaryIO, source: BinaryIO | None, name: str, kind: str, compressed_size: int, max_ratio: float):
        super().__init__()
        self._stream, self._source = stream, source
        self._name, self._kind = name, kind
        self._compressed_size, self._max_ratio = compressed_size, max_ratio
        self._limit = max(EXPANSION_FLOOR_BYTES, max_ratio * compressed_size)
        self._produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            count = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        except EOFError:
            raise IngestError(_truncated(self._name, self._kind)) from None
        except (OSError, zlib.error, zipfile.BadZipFile, zstandard.ZstdError) as exc:
            raise IngestError(_broken(self._name, self._kind, exc)) from None
        self._produced += count
        if self._produced > self._limit:
            raise IngestError(
                f"{self._name!r} expands to over {self._produced / max(self._compressed_size, 1):,.0f} times its compressed "
                f"size of {self._compressed_size:,} bytes, past source.max_expansion_ratio {self._max_ratio:g}, so it is "
                "refused as a likely zip bomb; raise source.max_expansion_ratio if it is genuine data."
            )
        return count

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
            if self._source is not None:
                self._source.close()
        super().close()


class _ZstdFrames(io.RawIOBase):
    """zstd frames decompressed a small piece of input at a time. Unlike zstandard's stream_reader, which ends quietly,
    input that stops inside a frame is an EOFError, as gzip and bz2 raise; `source` is closed with it."""

    def __init__(self, source: BinaryIO):
        super().__init__()
        self._source = source
        self._frame = zstandard.ZstdDecompressor().decompressobj()
        self._inside_frame = False
        self._output = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._output:
            if not self._decompress_next_piece():
                return 0
        count = min(len(buffer), len(self._output))
        buffer[:count] = self._output[:count]
        self._output = self._output[count:]
        return count

    def _decompress_next_piece(self) -> bool:
        """Decompress the next piece of input, starting a new frame after one ends; False at the end of the input."""
        leftover = b""
        if self._frame.eof:
            leftover = self._frame.unused_data
            self._frame, self._inside_frame = zstandard.ZstdDecompressor().decompressobj(), False
        piece = leftover or self._source.read(ZSTD_PIECE_BYTES)
        if not piece:
            if self._inside_frame:
                raise EOFError("the input ends inside a zstd frame")
            return False
        self._inside_frame = True
        self._output = memoryview(self._frame.decompress(piece))
        return True

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()


def _truncated(name: str, kind: str) -> str:
    if kind == "zip":
        return f"{name!r} is cut short inside its zip file; upload the zip again in full."
    return f"{name!r} is a truncated {kind} file; upload it again in full."


def _broken(name: str, kind: str, exc: Exception) -> str:
    detail = str(exc).strip().split("\n", 1)[0]
    if kind == "zip":
        return f"{name!r} cannot be unpacked from its zip file ({detail}); zip the files again and upload the zip."
    suffix = PurePosixPath(name).suffix
    if suffix.lower() in COMPRESSION_BY_SUFFIX:
        return f"{name!r} is not a valid {kind} file ({detail}); upload it again, or, if it is not compressed, under a name without {suffix!r}."
    return f"{name!r} is not a valid {kind} file ({detail}); upload it again in full."
