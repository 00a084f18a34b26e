"""One file's rows split by the window of their own date (`partition_by: {column: NAME}`): a Parquet part per
window and an index, so each window the file feeds takes its part without reading the file again (a year of history
in one file feeds 365 windows). Rows without a window of the dataset are rejects of the file's first window."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl_assets.config.columns import SOURCE_ROW
from etl_assets.config.models import PartitionsConfig
from etl_assets.errors import IngestError
from etl_assets.files import write_atomically
from etl_assets.ingest.model import Lineage, ReadResult, Reject, StreamedRead
from etl_assets.ingest.row_windows import WindowRange, windowed_batches
from etl_assets.ingest.spool import MIN_ROW_GROUP_ROWS, with_lineage, writer_options
from etl_assets.paths import window_slug

INDEX_FILE = "index.json"
# a file of many bad dates has many rejects: kept apart, read only by the window they count in
REJECTS_FILE = "rejects.jsonl"
# Rows waiting for their window's next row group, at most, before every window's rows are written out.
MAX_BUFFERED_ROWS = 4 * MIN_ROW_GROUP_ROWS
MAX_RAW_CHARACTERS = 65536


@dataclass(frozen=True)
class SplitFile:
    """A file's rows by window: each window's Parquet parts and row count, the window its rejects count in
    (`home`), and the read's summary (rejects, columns, encoding...) with an empty table."""

    folder: Path
    lineage: Lineage
    parts: dict[str, list[str]]
    rows: dict[str, int]
    home: str
    summary: ReadResult

    def part_paths(self, window_key: str) -> list[Path]:
        return [self.folder / name for name in self.parts.get(window_key, [])]


def split_file(streamed: StreamedRead, lineage: Lineage, column: str, partitions: PartitionsConfig, allowed: WindowRange, folder: Path) -> SplitFile:
    """Write the file's rows to a part per window in `folder` (made here); `home` is its first window, or empty when
    it has no row in any (the caller gives it one, then writes the index with `write_index`)."""
    folder.mkdir(parents=True)
    writers = _WindowWriters(folder, lineage)
    date_rejects: list[Reject] = []
    try:
        for batch, windows in windowed_batches(streamed, column, lineage.source_file, partitions, allowed):
            date_rejects += _rejects(batch, windows.problems, column)
            for key, rows in _by_key(batch, windows.keys):
                writers.add(key, rows)
        writers.close()
    except BaseException:
        writers.abandon()
        raise
    summary = streamed.summary()
    rejects = sorted(summary.rejects + date_rejects, key=lambda reject: reject.line)
    return SplitFile(folder, lineage, writers.parts, writers.rows, min(writers.rows, default=""), _with_rejects(summary, rejects))


def no_window(name: str, column: str, splits: list[SplitFile]) -> IngestError:
    """The error of a file none of whose rows belongs to a window of the dataset."""
    rejects = [reject for split in splits for reject in split.summary.rejects]
    first = f"line {rejects[0].line}: {rejects[0].reason}" if rejects else "it has no rows"
    return IngestError(
        f"No row of {name!r} belongs to a window of the dataset (partition_by: column {column!r}; {first}); "
        "fix the dates or partitions.start and upload it again."
    )


def load_split(folder: Path) -> SplitFile | None:
    """The split kept in `folder`, or None when there is none (never made, or its making was cut short)."""
    try:
        index = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    summary = index["summary"]
    return SplitFile(
        folder=folder,
        lineage=Lineage(index["lineage"]["source_file"], datetime.fromisoformat(index["lineage"]["arrived_at"])),
        parts=index["parts"],
        rows=index["rows"],
        home=index["home"],
        summary=ReadResult(pa.table({}), [], summary["columns"], summary["encoding"], summary["short_rows"], summary["renamed"]),
    )


def home_summary(split: SplitFile) -> ReadResult:
    """The split's summary with its rejects, which a kept split reads from its own file only for the window they count in."""
    if split.summary.rejects or not (split.folder / REJECTS_FILE).exists():
        return split.summary
    with (split.folder / REJECTS_FILE).open(encoding="utf-8") as lines:
        rejects = [Reject(*json.loads(line)) for line in lines]
    return _with_rejects(split.summary, rejects)


class _WindowWriters:
    """A Parquet writer per window, fed in row groups of MIN_ROW_GROUP_ROWS; a window whose rows change schema
    (a JSON key appearing late) gets another part, so no value is cast to fit."""

    def __init__(self, folder: Path, lineage: Lineage) -> None:
        self.folder, self.lineage = folder, lineage
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.buffers: dict[str, list[pa.Table]] = {}
        self.parts: dict[str, list[str]] = {}
        self.rows: dict[str, int] = {}
        self.buffered = 0

    def add(self, key: str, rows: pa.Table) -> None:
        self.buffers.setdefault(key, []).append(with_lineage(rows, self.lineage))
        self.rows[key] = self.rows.get(key, 0) + rows.num_rows
        self.buffered += rows.num_rows
        if sum(table.num_rows for table in self.buffers[key]) >= MIN_ROW_GROUP_ROWS:
            self._flush(key)
        if self.buffered > MAX_BUFFERED_ROWS:
            for waiting in list(self.buffers):
                self._flush(waiting)

    def close(self) -> None:
        for key in list(self.buffers):
            self._flush(key)
        for writer in self.writers.values():
            writer.close()

    def abandon(self) -> None:
        for writer in self.writers.values():
            writer.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _flush(self, key: str) -> None:
        tables = self.buffers.pop(key, [])
        self.buffered -= sum(table.num_rows for table in tables)
        for table in _same_schema_runs(tables):
            writer = self.writers.get(key)
            if writer is None or not writer.schema.equals(table.schema):
                writer = self._new_part(key, table)
            writer.write_table(table)

    def _new_part(self, key: str, table: pa.Table) -> pq.ParquetWriter:
        if key in self.writers:
            self.writers[key].close()
        name = f"{window_slug(key)}.{len(self.parts.get(key, []))}.parquet"
        self.parts.setdefault(key, []).append(name)
        self.writers[key] = pq.ParquetWriter(self.folder / name, table.schema, **writer_options(table))
        return self.writers[key]


def _same_schema_runs(tables: list[pa.Table]) -> Iterator[pa.Table]:
    """Consecutive tables of one schema concatenated, so a row group holds as many rows as it can."""
    run: list[pa.Table] = []
    for table in tables:
        if run and not run[0].schema.equals(table.schema):
            yield pa.concat_tables(run)
            run = []
        run.append(table)
    if run:
        yield pa.concat_tables(run)


def _by_key(batch: pa.Table, keys: pa.Array) -> Iterator[tuple[str, pa.Table]]:
    """The batch's rows by window key, rows without one left out: sorted once and sliced, since a batch of a year's
    history spans hundreds of windows and filtering it once per window would compare every row hundreds of times."""
    distinct = pc.unique(keys)
    if len(distinct) == 1 and distinct[0].is_valid:  # a file of one day: the whole batch
        yield distinct[0].as_py(), batch
        return
    order = pc.array_sort_indices(keys, null_placement="at_end")
    ordered = batch.take(order)
    start = 0
    for run in pc.value_counts(keys.take(order)).to_pylist():
        if run["values"] is not None:
            # within a window the rows stay in file order: a stable sort keeps equal keys as they came
            yield run["values"], ordered.slice(start, run["counts"])
        start += run["counts"]


def _rejects(batch: pa.Table, problems: pa.Array, column: str) -> list[Reject]:
    """The rows without a window, whole as JSON (their text is gone once parsed; the archive keeps the file)."""
    bad = pc.is_valid(problems)
    if not pc.any(bad).as_py():
        return []
    rows = batch.filter(bad)
    reasons = problems.filter(bad).to_pylist()
    lines = rows[SOURCE_ROW].to_pylist()
    values = rows.drop_columns([SOURCE_ROW]).to_pylist()
    return [
        Reject(line, f"{column} {reason} (partition_by: column)", json.dumps(value, default=str, ensure_ascii=False)[:MAX_RAW_CHARACTERS])
        for line, reason, value in zip(lines, reasons, values, strict=True)
    ]


def _with_rejects(summary: ReadResult, rejects: list[Reject]) -> ReadResult:
    return ReadResult(pa.table({}), rejects, summary.columns, summary.encoding, summary.short_rows, summary.renamed)


def write_index(split: SplitFile) -> None:
    summary = split.summary
    index = {
        "lineage": {"source_file": split.lineage.source_file, "arrived_at": split.lineage.arrived_at.isoformat()},
        "parts": split.parts,
        "rows": split.rows,
        "home": split.home,
        "summary": {
            "columns": summary.columns,
            "encoding": summary.encoding,
            "short_rows": summary.short_rows,
            "renamed": summary.renamed,
        },
    }
    if summary.rejects:
        lines = (json.dumps([reject.line, reject.reason, reject.raw], ensure_ascii=False) for reject in summary.rejects)
        write_atomically(split.folder / REJECTS_FILE, "\n".join(lines) + "\n")
    # Written last: a split without its index was cut short and is made again.
    write_atomically(split.folder / INDEX_FILE, json.dumps(index, ensure_ascii=False))

