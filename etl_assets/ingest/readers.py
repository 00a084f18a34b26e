"""Read one uploaded file into an Arrow table, keeping the rows that cannot be read as rejects."""

from __future__ import annotations

import codecs
import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.config.columns import SOURCE_ROW
from etl_assets.errors import IngestError
from etl_assets.ingest.csv_records import DelimitedReader
from etl_assets.ingest.encodings import decoded_chunks, detect_encoding
from etl_assets.ingest.model import ReadOptions, ReadResult, Reject, StreamedRead
from etl_assets.ingest.names import normalise_column_names, rename_reserved
from etl_assets.ingest.nested import flatten_nested

FORMAT_BY_EXTENSION = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
SNIFF_BYTES = 65536
PARQUET_BATCH_ROWS = 65536


def read_file(path: Path, fmt: str, original_name: str, encoding: str | None = None, options: ReadOptions = ReadOptions()) -> ReadResult:
    """Read `path` as `fmt` (csv|tsv|json|jsonl|parquet|xlsx|auto) in `encoding` (None: detected); CSV values stay strings."""
    streamed = stream_file(path, fmt, original_name, encoding, options)
    tables = list(streamed.batches)
    summary = streamed.summary()
    return dataclasses.replace(summary, table=pa.concat_tables(tables) if tables else summary.table)


def stream_file(path: Path, fmt: str, original_name: str, encoding: str | None = None, options: ReadOptions = ReadOptions()) -> StreamedRead:
    """`read_file` batch by batch: CSV and TSV a block of text at a time, Parquet a batch of rows, JSON in one batch."""
    resolved = detect_format(path, original_name) if fmt == "auto" else fmt
    with _read_errors(resolved, original_name):
        if resolved == "parquet":
            return _guarded(_stream_parquet(path), resolved, original_name)
        used = encoding or detect_encoding(path, original_name)
        if used is None:
            raise IngestError(
                f"{original_name!r} is not text in any encoding we recognise, so it cannot be read as {resolved}; "
                "re-export it as UTF-8 text or set source.format to its real format."
            )
        text = partial(decoded_chunks, path, used, original_name, configured=encoding is not None)
        if resolved in ("csv", "tsv"):
            return _guarded(_stream_delimited(text, "\t" if resolved == "tsv" else None, original_name, used), resolved, original_name)
        whole = "".join(text())
        reader = _read_json_document if resolved == "json" else _read_json_lines
        return _one_batch(_with_encoding(reader(whole), used))


@contextmanager
def _read_errors(resolved: str, original_name: str) -> Iterator[None]:
    try:
        yield
    except (pa.ArrowException, json.JSONDecodeError, OSError) as exc:
        raise IngestError(
            f"Cannot read {original_name!r} as {resolved} ({_first_line(exc)}); fix or re-export the file, "
            "or set source.format in etl_config.yaml to its real format."
        ) from None


def _guarded(streamed: StreamedRead, resolved: str, original_name: str) -> StreamedRead:
    """The read with its batches' errors reported as `read_file` reports them: they come while the batches are read."""
    return dataclasses.replace(streamed, batches=_batches_guarded(streamed.batches, resolved, original_name))


def _batches_guarded(batches: Iterator[pa.Table], resolved: str, original_name: str) -> Iterator[pa.Table]:
    with _read_errors(resolved, original_name):
        yield from batches


def _one_batch(result: ReadResult) -> StreamedRead:
    summary = dataclasses.replace(result, table=result.table.schema.empty_table())
    return StreamedRead(iter([result.table]), lambda: summary)


def detect_format(path: Path, original_name: str) -> str:
    """The format of a file: by its extension, else by its first bytes."""
    by_extension = FORMAT_BY_EXTENSION.get(Path(original_name).suffix.lower())
    if by_extension:
        return by_extension
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"PAR1"):
        return "parquet"
    content = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if content.startswith(b"["):
        return "json"
    if content.startswith(b"{"):
        first_line = content.split(b"\n", 1)[0]
        return "jsonl" if _is_json_object(first_line) else "json"
    first_line = content.split(b"\n", 1)[0]
    return "tsv" if first_line.count(b"\t") > first_line.count(b",") else "csv"


def _stream_delimited(text: Callable[[], Iterator[str]], delimiter: str | None, original_name: str, encoding: str) -> StreamedRead:
    reader = DelimitedReader(text, delimiter, original_name)

    def batches() -> Iterator[pa.Table]:
        for batch in reader.batches():
            yield _named(batch, reader.header or [], []).table

    def summary() -> ReadResult:
        result = _named(reader.empty_table(), reader.header or [], reader.sorted_rejects())
        return _with_encoding(dataclasses.replace(result, short_rows=reader.short_rows), encoding)

    return StreamedRead(batches(), summary)


def _named(batch: pa.Table, header: list[str], rejects: list[Reject]) -> ReadResult:
    """A delimited batch (f0..fN, `_source_row`) under the header's normalised names."""
    return _result(batch.drop_columns([SOURCE_ROW]), batch[SOURCE_ROW], header, rejects)


def _with_encoding(result: ReadResult, encoding: str) -> ReadResult:
    return dataclasses.replace(result, encoding=codecs.lookup(encoding).name)


def _read_json_document(text: str) -> ReadResult:
    document = json.loads(text)
    items = document if isinstance(document, list) else [document]
    return _json_records(list(enumerate(items, start=1)))


def _read_json_lines(text: str) -> ReadResult:
    numbered, rejects = [], []
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and other line separators.
    for line_number, line in enumerate(text.split("\n"), start=1):
        content = line.strip()
        if not content:
            continue
        try:
            numbered.append((line_number, json.loads(content)))
        except json.JSONDecodeError as exc:
            rejects.append(Reject(line_number, f"invalid JSON: {exc.msg}", line.rstrip("\r")))
    result = _json_records(numbered)
    return dataclasses.replace(result, rejects=sorted(rejects + result.rejects, key=lambda reject: reject.line))


def _json_records(numbered: list[tuple[int, Any]]) -> ReadResult:
    objects = [(line, item) for line, item in numbered if isinstance(item, dict)]
    rejects = [Reject(line, "expected a JSON object", json.dumps(item)) for line, item in numbered if not isinstance(item, dict)]
    keys = list(dict.fromkeys(key for _, item in objects for key in item))
    arrays = [_json_column([item.get(key) for _, item in objects]) for key in keys]
    table = pa.table(dict(zip([f"f{index}" for index in range(len(keys))], arrays)))
    return _result(table, [line for line, _ in objects], keys, rejects)


def _json_column(values: list[Any]) -> pa.Array:
    """Native JSON types are kept when a column is consistent; anything mixed or nested becomes JSON text."""
    kinds = {_json_kind(value) for value in values if value is not None}
    if not kinds:
        return pa.nulls(len(values))
    if kinds == {"boolean"}:
        return pa.array(values, pa.bool_())
    if kinds == {"integer"} and all(-(2**63) <= value < 2**63 for value in values if value is not None):
        return pa.array(values, pa.int64())
    # a double holds every integer only up to 2**53: beyond, the column stays text, digits exact
    if kinds <= {"integer", "float"} and all(abs(value) <= 2**53 for value in values if isinstance(value, int)):
        return pa.array([None if value is None else float(value) for value in values], pa.float64())
    return pa.array([value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False) for value in values], pa.string())


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    return "string" if isinstance(value, str) else "nested"


def _stream_parquet(path: Path) -> StreamedRead:
    """Batch by batch, structs flattened to `parent__child` columns and lists and maps made JSON, with names normalised there."""
    parquet = pq.ParquetFile(path)
    summary = _parquet_batch(parquet.schema_arrow.empty_table(), 1)

    def batches() -> Iterator[pa.Table]:
        first_row = 1
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            table = _parquet_batch(pa.Table.from_batches([batch]), first_row).table
            first_row += table.num_rows
            yield table

    return StreamedRead(batches(), lambda: summary)


def _parquet_batch(table: pa.Table, first_row: int) -> ReadResult:
    flat = flatten_nested(table)
    names, reserved = rename_reserved(flat.table.column_names)
    rows = pa.array(range(first_row, first_row + flat.table.num_rows), pa.int64())
    columns = {name: flat.headers[old] for name, old in zip(names, flat.table.column_names, strict=True)}
    renamed = flat.table.rename_columns(names).append_column(SOURCE_ROW, rows)
    return ReadResult(renamed, [], columns, renamed={name: columns[name] for name in reserved})


def _result(table: pa.Table, source_rows: list[int] | pa.ChunkedArray, headers: list[str], rejects: list[Reject]) -> ReadResult:
    names, reserved = rename_reserved(normalise_column_names(headers))
    rows = source_rows if isinstance(source_rows, pa.ChunkedArray) else pa.array(source_rows, pa.int64())
    renamed = table.rename_columns(names).append_column(SOURCE_ROW, rows)
    columns = dict(zip(names, headers))
    return ReadResult(renamed, rejects, columns, renamed={name: columns[name] for name in reserved})


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _first_line(exc: Exception) -> str:
    return str(exc).strip().split("\n", 1)[0]
