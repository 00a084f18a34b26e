"""Read one uploaded file into an Arrow table, keeping the rows that cannot be read as rejects."""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.config.columns import SOURCE_ROW
from etl_assets.errors import IngestError
from etl_assets.ingest.csv_records import DelimitedReader
from etl_assets.ingest.encodings import decoded_chunks, detect_encoding
from etl_assets.ingest.json_records import stream_json
from etl_assets.ingest.model import Opener, ReadOptions, ReadResult, Reject, StreamedRead
from etl_assets.ingest.names import normalise_column_names, rename_reserved
from etl_assets.ingest.nested import flatten_nested
from etl_assets.ingest.schema_union import concatenated

FORMAT_BY_EXTENSION = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}
SNIFF_BYTES = 65536
WORKBOOK_MEMBER = re.compile(rb"PK\x03\x04.{26}xl/", re.DOTALL)
PARQUET_BATCH_ROWS = 65536


def read_file(path: Path, fmt: str, original_name: str, encoding: str | None = None, options: ReadOptions = ReadOptions()) -> ReadResult:
    """Read `path` as `fmt` (csv|tsv|json|jsonl|parquet|xlsx|auto) in `encoding` (None: detected); CSV values stay strings."""
    streamed = stream_file(path, fmt, original_name, encoding, options)
    tables = list(streamed.batches)
    summary = streamed.summary()
    return dataclasses.replace(summary, table=concatenated(tables, [SOURCE_ROW]) if tables else summary.table)


def stream_file(path: Path, fmt: str, original_name: str, encoding: str | None = None, options: ReadOptions = ReadOptions()) -> StreamedRead:
    """`read_file` batch by batch: CSV and TSV a block of text at a time, Parquet and JSON a batch of rows."""
    return stream_opened(partial(path.open, "rb"), fmt, original_name, encoding, options)


def stream_opened(
    open_binary: Opener, fmt: str, original_name: str, encoding: str | None = None, options: ReadOptions = ReadOptions()
) -> StreamedRead:
    """`stream_file` of the bytes `open_binary` gives, opened afresh for each pass; for Parquet they must be seekable.
    A workbook holds several files: members.py reads it, sheet by sheet."""
    resolved = detect_format(open_binary, original_name) if fmt == "auto" else fmt
    if resolved == "xlsx":
        raise IngestError(
            f"{original_name!r} is an Excel workbook, whose sheets cannot be read here as one file; save each sheet as CSV and upload those."
        )
    with _read_errors(resolved, original_name):
        if resolved == "parquet":
            return _guarded(_stream_parquet(open_binary), resolved, original_name)
        used = encoding or detect_encoding(open_binary, original_name)
        if used is None:
            raise IngestError(
                f"{original_name!r} is not text in any encoding we recognise, so it cannot be read as {resolved}; "
                "re-export it as UTF-8 text or set source.format to its real format."
            )
        text = partial(decoded_chunks, open_binary, used, original_name, configured=encoding is not None)
        if resolved in ("csv", "tsv"):
            return _guarded(_stream_delimited(text, resolved, original_name, used, options), resolved, original_name)
        return _guarded(stream_json(text, resolved, original_name, used), resolved, original_name)


@contextmanager
def _read_errors(resolved: str, original_name: str) -> Iterator[None]:
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
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


def detect_format(open_binary: Opener, original_name: str) -> str:
    """The format of a file: by its extension, else by its first bytes."""
    by_extension = FORMAT_BY_EXTENSION.get(Path(original_name).suffix.lower())
    if by_extension:
        return by_extension
    with open_binary() as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"PAR1"):
        return "parquet"
    if is_workbook(head):
        return "xlsx"
    content = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if content.startswith(b"["):
        return "json"
    if content.startswith(b"{"):
        first_line = content.split(b"\n", 1)[0]
        return "jsonl" if _is_json_object(first_line) else "json"
    first_line = content.split(b"\n", 1)[0]
    return "tsv" if first_line.count(b"\t") > first_line.count(b",") else "csv"


def _stream_delimited(text: Callable[[], Iterator[str]], fmt: str, original_name: str, encoding: str, options: ReadOptions) -> StreamedRead:
    # TSV is tab-delimited unless the source sets its delimiter; CSV's is the source's or detected
    tab = dataclasses.replace(options, delimiter=options.delimiter or "\t") if fmt == "tsv" else options
    reader = DelimitedReader(text, original_name, tab)

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


def is_workbook(head: bytes) -> bool:
    """A zip (the first bytes of one) holding an `xl/` member, as every .xlsx workbook does: a local file header's
    name comes 30 bytes after its signature."""
    return WORKBOOK_MEMBER.search(head) is not None


def _stream_parquet(open_binary: Opener) -> StreamedRead:
    """Batch by batch, structs flattened to `parent__child` columns and lists and maps made JSON, with names normalised there."""
    handle = open_binary()
    try:
        parquet = pq.ParquetFile(handle)
    except BaseException:
        handle.close()
        raise
    summary = _parquet_batch(parquet.schema_arrow.empty_table(), 1)

    def batches() -> Iterator[pa.Table]:
        first_row = 1
        with handle:
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


def _result(table: pa.Table, source_rows: pa.ChunkedArray, headers: list[str], rejects: list[Reject]) -> ReadResult:
    names, reserved = rename_reserved(normalise_column_names(headers))
    renamed = table.rename_columns(names).append_column(SOURCE_ROW, source_rows)
    columns = dict(zip(names, headers))
    return ReadResult(renamed, rejects, columns, renamed={name: columns[name] for name in reserved})


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _first_line(exc: Exception) -> str:
    return str(exc).strip().split("\n", 1)[0]
