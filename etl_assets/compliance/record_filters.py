"""An uploaded file's bytes copied without one subject's records, for each format the archive can rewrite.

Delimited text is walked record by record with the ingest readers' own record scanner (csv_records.py), so a quoted
field spanning lines stays one record, and every record kept is copied byte for byte (decoding and encoding with
`surrogateescape`, so even bytes the encoding does not know come back as they were). A record the reader would
reject (a broken quote) is dropped when its first line holds the value and otherwise kept, and the lines after it
are walked again, as the reader does. JSON Lines keeps its other lines as they are; a JSON document is written
again from its parsed items (floats read as the reader reads them); Parquet batch by batch in its own schema.
"""

from __future__ import annotations

import codecs
import json
from collections import deque
from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl_assets.compliance.subject import Subject
from etl_assets.ingest.csv_records import NEWLINE_SAMPLE, RecordScanner
from etl_assets.ingest.delimited_syntax import Syntax, checked_syntax, detected_delimiter
from etl_assets.ingest.model import Opener, ReadOptions
from etl_assets.ingest.names import normalise_column_name, normalise_column_names

CHUNK_BYTES = 1 << 20
PARQUET_BATCH_ROWS = 65_536
BLANK = ("", "\r")
ESCAPED = "surrogateescape"


def without_delimited_records(
    open_binary: Opener, target: BinaryIO, encoding: str, fmt: str, options: ReadOptions, subject: Subject, name: str
) -> int:
    """Copy delimited text to `target` without the subject's records; how many were left out."""
    encoder = codecs.getincrementalencoder(encoding)(ESCAPED)
    lines = _LineSource(open_binary, encoding)
    for _ in range(options.skip_rows):
        target.write(encoder.encode(lines.next() or ""))
    first = lines.next()
    while first is not None and _content(first, lines.newline) in BLANK:
        target.write(encoder.encode(first))
        first = lines.next()
    removed = 0
    if first is not None:
        delimiter = options.delimiter or ("\t" if fmt == "tsv" else detected_delimiter(_content(first, lines.newline), options))
        syntax = checked_syntax(delimiter, options, name)
        header, scanner = _record(first, lines, syntax)
        width = len(scanner.fields)
        names = normalise_column_names(scanner.fields) if options.header else [f"column_{index}" for index in range(1, width + 1)]
        column = names.index(subject.source_column) if subject.source_column in names else None
        removed += _copy_record(header, scanner, column, subject, target, encoder, is_header=options.header)
        while (first := lines.next()) is not None:
            removed += _copy_record(*_record(first, lines, syntax), column, subject, target, encoder)
    target.write(encoder.encode("", final=True))
    return removed


def without_json_lines(open_binary: Opener, target: BinaryIO, encoding: str, subject: Subject) -> int:
    """Copy JSON Lines without the subject's lines (an unreadable line holding the value goes too)."""
    encoder = codecs.getincrementalencoder(encoding)(ESCAPED)
    lines, removed = _LineSource(open_binary, encoding), 0
    while (line := lines.next()) is not None:
        if _json_line_is_subject(line, subject):
            removed += 1
        else:
            target.write(encoder.encode(line))
    target.write(encoder.encode("", final=True))
    return removed


def without_json_items(open_binary: Opener, target: BinaryIO, encoding: str, subject: Subject) -> int:
    """A JSON document (an array of objects, or one object) written again without the subject's objects."""
    with open_binary() as source:
        start = _first_character(codecs.getreader(encoding)(source, ESCAPED))
    if not start:
        return 0
    encoder = codecs.getincrementalencoder(encoding)(ESCAPED)
    removed, written = 0, 0
    with open_binary() as source:
        items = ijson.items(_Utf8(codecs.getreader(encoding)(source, ESCAPED)), "item" if start == "[" else "", use_float=True)
        target.write(encoder.encode("[" if start == "[" else ""))
        for item in items:
            if _is_subject_object(item, subject):
                removed += 1
                continue
            separator = ("," if written else "") + ("\n" if start == "[" else "")
            target.write(encoder.encode(separator + json.dumps(item, ensure_ascii=False)))
            written += 1
    target.write(encoder.encode("\n]\n" if start == "[" else "\n" if written else "", final=True))
    return removed


def without_parquet_rows(source: Any, target: BinaryIO, subject: Subject) -> int:
    """Copy a Parquet upload (a path or an open file) without the subject's rows, in its own schema."""
    removed = 0
    with pq.ParquetFile(source) as parquet:
        names = [normalise_column_name(name) for name in parquet.schema_arrow.names]
        column = names.index(subject.source_column) if subject.source_column in names else None
        with pq.ParquetWriter(target, parquet.schema_arrow) as writer:
            for batch in parquet.iter_batches(PARQUET_BATCH_ROWS):
                if column is not None:
                    matched = subject.in_source_values(batch.column(column))
                    removed += pc.sum(matched).as_py() or 0
                    batch = batch.filter(pc.invert(matched))
                writer.write_batch(batch)
    return removed


class _LineSource:
    """The text's lines with their line ends, in order, decoded a chunk at a time; lines can be given back to be read
    again. The line end is told as the reader tells it: LF if the text's start holds one, else CR if it holds one."""

    def __init__(self, open_binary: Opener, encoding: str) -> None:
        self.newline = "\n"
        self._again: deque[str] = deque()
        self._lines = self._read(open_binary, encoding)

    def next(self) -> str | None:
        if self._again:
            return self._again.popleft()
        return next(self._lines, None)

    def push_back(self, lines: list[str]) -> None:
        self._again.extendleft(reversed(lines))

    def _read(self, open_binary: Opener, encoding: str) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(encoding)(ESCAPED)
        carry, told = "", False
        with open_binary() as source:
            while True:
                data = source.read(CHUNK_BYTES)
                carry += decoder.decode(data, final=not data)
                if not told and ("\n" in carry or len(carry) >= NEWLINE_SAMPLE or not data):
                    head = carry[: carry.find("\n") + 1] if "\n" in carry else carry[:NEWLINE_SAMPLE]
                    self.newline, told = "\n" if "\n" in head or "\r" not in head else "\r", True
                if told:
                    *complete, carry = carry.split(self.newline)
                    yield from (line + self.newline for line in complete)
                if not data:
                    break
        if carry:
            yield carry


def _record(first: str, lines: _LineSource, syntax: Syntax) -> tuple[list[str], RecordScanner]:
    """The lines of the record starting with `first`; a broken one is its first line only, the others given back."""
    record, scanner = [first], RecordScanner(0, syntax, lines.newline)
    done = scanner.feed(_content(first, lines.newline))
    while not done and (line := lines.next()) is not None:
        record.append(line)
        done = scanner.feed(_content(line, lines.newline))
    if not done and scanner.problem is None:
        scanner.end_of_file()
    if scanner.problem is not None:
        lines.push_back(record[1:])
        record = record[:1]
    return record, scanner


def _copy_record(
    record: list[str], scanner: RecordScanner, column: int | None, subject: Subject, target: BinaryIO, encoder: Any, is_header: bool = False
) -> int:
    """Write the record unless it is the subject's; 1 when it was left out."""
    if is_header:
        dropped = False
    elif scanner.problem is not None:
        dropped = subject.source_column is not None and subject.mentioned_in(record[0])
    else:
        dropped = column is not None and column < len(scanner.fields) and subject.is_source_text(scanner.fields[column])
    if not dropped:
        target.write(encoder.encode("".join(record)))
    return int(dropped)


def _content(line: str, newline: str) -> str:
    """A line without its line end, as the reader's scanner takes it (a CR before an LF stays)."""
    return line.removesuffix(newline)


def _json_line_is_subject(line: str, subject: Subject) -> bool:
    try:
        item = json.loads(line)
    except ValueError:
        return subject.source_column is not None and subject.mentioned_in(line)
    return _is_subject_object(item, subject)


def _is_subject_object(item: Any, subject: Subject) -> bool:
    """Whether a record's top-level key that names the source column holds the subject's value."""
    if not isinstance(item, dict) or subject.source_column is None:
        return False
    for key, value in item.items():
        if normalise_column_name(key) == subject.source_column and value is not None:
            return subject.is_source_text(value if isinstance(value, str) else json.dumps(value))
    return False


def _first_character(text: Any) -> str:
    while chunk := text.read(CHUNK_BYTES):
        if content := chunk.lstrip(" \t\r\n\ufeff"):
            return content[0]
    return ""


class _Utf8:
    """The decoded text as UTF-8 bytes, for ijson, which reads bytes."""

    def __init__(self, text: Any) -> None:
        self.text = text

    def read(self, size: int) -> bytes:
        return self.text.read(size).encode("utf-8", ESCAPED)
