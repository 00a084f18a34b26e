"""Read one uploaded file into an Arrow table, keeping the rows that cannot be read as rejects."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import charset_normalizer
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from etl_assets.errors import IngestError
from etl_assets.ingest.names import normalise_column_names
from etl_assets.ingest.nested import flatten_nested

SOURCE_ROW = "_source_row"
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
CSV_DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 65536
MAX_FIELD_CHARACTERS = 2**31 - 1
PREFERRED_LEGACY_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")


@dataclass(frozen=True)
class Reject:
    """A row that could not be read: where it is in the file, why, and its text."""

    line: int
    reason: str
    raw: str


@dataclass(frozen=True)
class ReadResult:
    """The rows of a file (normalised column names, then `_source_row`), its rejects, and header names."""

    table: pa.Table
    rejects: list[Reject]
    columns: dict[str, str]


def read_file(path: Path, fmt: str, original_name: str) -> ReadResult:
    """Read `path` as `fmt` (csv|tsv|json|jsonl|parquet|auto); CSV values stay strings, so nothing is coerced."""
    resolved = detect_format(path, original_name) if fmt == "auto" else fmt
    try:
        if resolved == "parquet":
            return _read_parquet(path)
        text = _decode(path.read_bytes(), original_name, resolved)
        if resolved == "json":
            return _read_json_document(text)
        if resolved == "jsonl":
            return _read_json_lines(text)
        return _read_delimited(text, "\t" if resolved == "tsv" else None)
    except (pa.ArrowException, csv.Error, json.JSONDecodeError, OSError) as exc:
        raise IngestError(
            f"Cannot read {original_name!r} as {resolved} ({_first_line(exc)}); fix or re-export the file, "
            "or set source.format in etl_config.yaml to its real format."
        ) from None


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


def _decode(data: bytes, original_name: str, fmt: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        raise IngestError(
            f"{original_name!r} is not text in any encoding we recognise, so it cannot be read as {fmt}; "
            "re-export it as UTF-8 text or set source.format to its real format."
        )
    # Short exports tie between many code pages; the Western ones are by far the most common source of such files.
    tied = [match for match in matches if (match.chaos, match.coherence) == (best.chaos, best.coherence)]
    preferred = [match for encoding in PREFERRED_LEGACY_ENCODINGS for match in tied if match.encoding == encoding]
    return str((preferred or [best])[0])


def _read_delimited(text: str, delimiter: str | None) -> ReadResult:
    body = text.lstrip("\r\n")  # Arrow counts leading blank lines differently from later ones.
    first_line = body.split("\n", 1)[0]
    delimiter = delimiter or max(CSV_DELIMITERS, key=lambda candidate: (first_line.count(candidate), candidate == ","))
    record_lines, header = _record_lines(text, delimiter)
    if not header:
        return _result(pa.table({}), [], [], [])
    names = [f"f{index}" for index in range(len(header))]
    rejected_rows: dict[int, tuple[str, str]] = {}

    def keep_as_reject(row: pa_csv.InvalidRow) -> str:
        rejected_rows[row.number] = (f"expected {row.expected_columns} fields, found {row.actual_columns}", row.text)
        return "skip"

    table = pa_csv.read_csv(
        io.BytesIO(body.encode("utf-8")),
        # Row numbers of bad rows are only known when reading on one thread.
        read_options=pa_csv.ReadOptions(use_threads=False, skip_rows=1, column_names=names),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=keep_as_reject),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    record_count = table.num_rows + len(rejected_rows) + 1
    if len(record_lines) != record_count:
        # Arrow and the csv module split records differently; Arrow's row numbers are then the best lines we know.
        record_lines = list(range(1, record_count + 1))
    kept_rows = [row for row in range(2, record_count + 1) if row not in rejected_rows]
    rejects = [Reject(record_lines[row - 1], reason, raw) for row, (reason, raw) in sorted(rejected_rows.items())]
    return _result(table, [record_lines[row - 1] for row in kept_rows], header, rejects)


def _record_lines(text: str, delimiter: str) -> tuple[list[int], list[str]]:
    """The line each non-blank record starts on, and the first record (the header)."""
    csv.field_size_limit(MAX_FIELD_CHARACTERS)  # the default 128 KiB would refuse files Arrow reads fine
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    starts, header, previous_line = [], [], 0
    for record in reader:
        if record:
            starts.append(previous_line + 1)
            header = header or record
        previous_line = reader.line_num
    return starts, header


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
    return ReadResult(result.table, sorted(rejects + result.rejects, key=lambda reject: reject.line), result.columns)


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
    if kinds <= {"integer", "float"}:
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


def _read_parquet(path: Path) -> ReadResult:
    """Structs flattened to `parent__child` columns and lists and maps made JSON, with names normalised there."""
    flat = flatten_nested(pq.read_table(path))
    rows = pa.array(range(1, flat.table.num_rows + 1), pa.int64())
    return ReadResult(flat.table.append_column(SOURCE_ROW, rows), [], flat.headers)


def _result(table: pa.Table, source_rows: list[int], headers: list[str], rejects: list[Reject]) -> ReadResult:
    names = normalise_column_names(headers)
    renamed = table.rename_columns(names).append_column(SOURCE_ROW, pa.array(source_rows, pa.int64()))
    return ReadResult(renamed, rejects, dict(zip(names, headers)))


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _first_line(exc: Exception) -> str:
    return str(exc).strip().split("\n", 1)[0]
