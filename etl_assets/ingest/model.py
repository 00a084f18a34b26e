"""What reading a file produces; imports nothing of the package, so every reader can use it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

# A file's bytes from the start, opened afresh on each call: a plain file, or one being decompressed or unzipped.
Opener = Callable[[], BinaryIO]


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file besides its format and encoding: the source's delimited-text options (`delimiter` None:
    detected), the sheets of a workbook (None: all), and how far a compressed file may expand."""

    delimiter: str | None = None
    quote: str = '"'
    escape: str | None = None
    null_values: tuple[str, ...] = ()
    skip_rows: int = 0
    header: bool = True
    decimal: str = "."
    sheets: tuple[str, ...] | None = None
    max_expansion_ratio: float = 200.0


@dataclass(frozen=True)
class Reject:
    """A row that could not be read: where it is in the file, why, and its text."""

    line: int
    reason: str
    raw: str


@dataclass(frozen=True)
class ReadResult:
    """The rows of a file (normalised column names, then `_source_row`), its rejects, and header names.

    `encoding` is the text encoding used (None for Parquet), `short_rows` the records that had fewer fields than
    the header and were padded with NULLs, `renamed` the source headers renamed because they would collide with a
    column the pipeline adds (new name -> header).
    """

    table: pa.Table
    rejects: list[Reject]
    columns: dict[str, str]
    encoding: str | None = None
    short_rows: int = 0
    renamed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamedRead:
    """A file read batch by batch, so it is never held whole: `batches` gives its rows as `ReadResult.table` would,
    and `summary()`, once they are exhausted, the rest of the ReadResult with an empty table of the same columns."""

    batches: Iterator[pa.Table]
    summary: Callable[[], ReadResult]


@dataclass(frozen=True)
class Lineage:
    """Where a file's rows came from, as the upload's lineage columns carry it: its name and arrival."""

    source_file: str
    arrived_at: datetime

    def is_within(self, file: Lineage) -> bool:
        """Rows read from `file`: under its name, or a member's within it (`book.xlsx/Sheet1`), and its arrival."""
        named = self.source_file == file.source_file or self.source_file.startswith(f"{file.source_file}/")
        return named and self.arrived_at == file.arrived_at


@dataclass(frozen=True)
class SpooledFile:
    """One file's rows written to Parquet parts with their lineage: the parts (one, unless a later batch brought
    columns that did not fit the first: spool.py), the row count, and the read's summary (rejects, columns, encoding,
    padded rows, renamed headers; an empty table)."""

    parts: tuple[Path, ...]
    rows: int
    lineage: Lineage
    summary: ReadResult
