"""JSON Lines and JSON documents read batch by batch, never whole, their nested objects flattened to columns.

JSON Lines are parsed a line at a time from the decoded text. A document that is an array is parsed an item at a
time by ijson, one that is an object is one record. Each batch of records becomes an Arrow table typed on its own
values (spool.py brings batches typed differently together).

Flattening, as dlt names it: a nested object's keys become `parent__child` columns, recursively, each part
normalised like a header; an empty object adds no column (nothing to load: the row is NULL in every column it
might have had); an array stays JSON text of Arrow's JSON type, loaded as VARIANT. A key's own underscores
collapse as a header's do (`{"a__b": 1, "a": {"b": 2}}` gives `a_b` and `a__b`), and a key path whose name another
took first gets `_2`, `_3`... (`user name.cc` and `user_name.cc`), so no value is lost to a name.
"""

from __future__ import annotations

import codecs
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import ijson
import pyarrow as pa

from etl_assets.config.columns import SOURCE_ROW
from etl_assets.errors import IngestError
from etl_assets.ingest.model import ReadResult, Reject, StreamedRead
from etl_assets.ingest.names import made_unique, normalise_column_name, rename_reserved
from etl_assets.ingest.nested import SEPARATOR
from etl_assets.ingest.schema_union import MAX_EXACT_INTEGER

BATCH_RECORDS = 65536
# Parsed records are Python objects, many times the size of their text: a batch also ends at this many values.
BATCH_VALUES = 2**19
JSON_WHITESPACE = " \t\r\n"
PYTHON_PARSER = ijson.get_backend("python")
SCAN_VALUE = json.JSONDecoder().scan_once
JSON_TEXT = json.JSONEncoder(ensure_ascii=False).encode  # built once: json.dumps with options builds one a call

Key = str | tuple[str, ...]  # a top-level key, or the path to a nested object's key


def _fast_parser() -> Any:
    try:
        return ijson.get_backend("yajl2_c")
    except ImportError:
        return PYTHON_PARSER


FAST_PARSER = _fast_parser()


def stream_json(text: Callable[[], Iterator[str]], fmt: str, original_name: str, encoding: str) -> StreamedRead:
    """The file (`fmt` json or jsonl, its text given by `text`) batch by batch, with its rejects in the summary."""
    records = _JsonRecords(encoding)
    numbered = _document_records(text, original_name, records.rejects) if fmt == "json" else _line_records(text(), records.rejects)
    return StreamedRead(records.tables(numbered), records.summary)


def _line_records(chunks: Iterator[str], rejects: list[Reject]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(_lines(chunks), start=1):
        if not line or line.isspace():
            continue
        try:
            item = _parsed(line)
        except json.JSONDecodeError as exc:
            rejects.append(Reject(number, f"invalid JSON: {exc.msg}", line.rstrip("\r")))
            continue
        if type(item) is dict:
            yield number, item
        else:
            rejects.append(Reject(number, "expected a JSON object", line.rstrip("\r")))


def _parsed(line: str) -> Any:
    """`json.loads(line)`, a tenth faster for a line that is one JSON value from its first character to its last."""
    try:
        value, end = SCAN_VALUE(line, 0)
    except (StopIteration, json.JSONDecodeError):
        return json.loads(line)  # for its error, or to skip the whitespace around the value
    return value if end == len(line) else json.loads(line)


def _lines(chunks: Iterator[str]) -> Iterator[str]:
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and other line separators.
    pending = ""
    for chunk in chunks:
        lines = (pending + chunk).split("\n")
        pending = lines.pop()
        yield from lines
    if pending:
        yield pending


def _document_records(text: Callable[[], Iterator[str]], original_name: str, rejects: list[Reject]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The document's objects numbered by position: an array's items, or the one object; an empty file has none."""
    with closing(text()) as chunks:
        start = next((content[0] for chunk in chunks if (content := chunk.lstrip(JSON_WHITESPACE))), "")
    if not start:
        return
    try:
        for position, item in enumerate(_document_items(text, "item" if start == "[" else ""), start=1):
            if type(item) is dict:
                yield position, item
            else:
                rejects.append(Reject(position, "expected a JSON object", json.dumps(item)))
    except ijson.JSONError as exc:
        reason = str(exc).strip().split("\n", 1)[0].rstrip(".")
        raise IngestError(
            f"Cannot read {original_name!r} as json ({reason}); fix or re-export the file, "
            "or set source.format in etl_config.yaml to its real format."
        ) from None


def _document_items(text: Callable[[], Iterator[str]], prefix: str) -> Iterator[Any]:
    parsed = 0
    try:
        for item in FAST_PARSER.items(_Utf8Reader(text()), prefix, use_float=True):
            parsed += 1
            yield item
    except ijson.JSONError as exc:
        if FAST_PARSER is PYTHON_PARSER or "integer overflow" not in str(exc):
            raise
        # yajl holds integers in 64 bits: the Python parser, which keeps every digit, reads on from that item
        yield from itertools.islice(PYTHON_PARSER.items(_Utf8Reader(text()), prefix, use_float=True), parsed, None)


class _Utf8Reader:
    """The decoded text as a binary file of UTF-8 for ijson, which reads it `size` bytes at a time."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self.chunks = chunks
        self.data = b""
        self.offset = 0

    def read(self, size: int) -> bytes:
        if self.offset >= len(self.data):
            self.data, self.offset = next(self.chunks, "").encode("utf-8"), 0
        start, self.offset = self.offset, self.offset + size
        return self.data[start : self.offset]  # yajl is slower fed a whole 2 MiB chunk than the 64 KiB it asks for


class _JsonRecords:
    """Numbered records gathered into typed tables, with the rejects met and the column names given on the way."""

    def __init__(self, encoding: str) -> None:
        self.encoding = codecs.lookup(encoding).name
        self.rejects: list[Reject] = []
        self.names: dict[Key, str] = {}
        self.headers: dict[str, str] = {}
        self.renamed: dict[str, str] = {}

    def tables(self, numbered: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[pa.Table]:
        rows: list[dict[Key, Any]] = []
        lines: list[int] = []
        values = 0
        for line, record in numbered:
            row = _flattened(record)
            rows.append(row)
            lines.append(line)
            values += len(row)
            if len(rows) >= BATCH_RECORDS or values >= BATCH_VALUES:
                yield self._table(rows, lines)
                rows, lines, values = [], [], 0
        if rows:
            yield self._table(rows, lines)

    def summary(self) -> ReadResult:
        empty = pa.schema([(name, pa.null()) for name in self.headers] + [(SOURCE_ROW, pa.int64())]).empty_table()
        return ReadResult(empty, self.rejects, dict(self.headers), self.encoding, renamed=dict(self.renamed))

    def _table(self, rows: list[dict[Key, Any]], lines: list[int]) -> pa.Table:
        present = dict.fromkeys(itertools.chain.from_iterable(rows))
        for key in present:
            if key not in self.names:
                self._name(key)
        keys = [key for key in self.names if key in present]  # columns in file order, so batches line up
        arrays = [_json_column(list(map(dict.get, rows, itertools.repeat(key)))) for key in keys]
        names = [self.names[key] for key in keys]
        return pa.Table.from_arrays([*arrays, pa.array(lines, pa.int64())], names=[*names, SOURCE_ROW])

    def _name(self, key: Key) -> None:
        path = (key,) if isinstance(key, str) else key
        (base,), reserved = rename_reserved([SEPARATOR.join(normalise_column_name(part) for part in path)])
        (name,) = made_unique([base], taken=set(self.headers))
        self.names[key] = name
        self.headers[name] = ".".join(path)
        if reserved:
            self.renamed[name] = self.headers[name]


def _flattened(record: dict[str, Any]) -> dict[Key, Any]:
    """The record's values by key path, nested objects opened; a record without any is its own."""
    if dict not in map(type, record.values()):
        return record
    flat: dict[Key, Any] = {}
    for key, value in record.items():
        if type(value) is dict:
            _add_leaves(flat, (key,), value)
        else:
            flat[key] = value
    return flat


def _add_leaves(flat: dict[Key, Any], path: tuple[str, ...], record: dict[str, Any]) -> None:
    for key, value in record.items():
        if type(value) is dict:
            _add_leaves(flat, (*path, key), value)
        else:
            flat[(*path, key)] = value


def _json_column(values: list[Any]) -> pa.Array:
    """Native JSON types are kept when a column is consistent, arrays as JSON; anything mixed becomes JSON text."""
    kinds = set(map(type, values)) - {type(None)}
    if not kinds:
        return pa.nulls(len(values))
    if kinds == {bool}:
        return pa.array(values, pa.bool_())
    if kinds == {int}:
        try:
            return pa.array(values, pa.int64())
        except OverflowError:
            pass  # beyond int64: text, digits exact
    # a double holds every integer only up to 2**53: beyond, the column stays text, digits exact
    if kinds <= {int, float} and all(abs(value) <= MAX_EXACT_INTEGER for value in values if type(value) is int):
        return pa.array(values, pa.float64())
    if kinds == {str}:
        return pa.array(values, pa.string())
    if kinds == {list}:
        return pa.array([None if value is None else JSON_TEXT(value) for value in values], pa.json_())
    return pa.array([value if value is None or type(value) is str else JSON_TEXT(value) for value in values], pa.string())
