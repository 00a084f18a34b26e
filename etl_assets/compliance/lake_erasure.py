"""One subject's rows taken out of a dataset's lake files, window by window (docs/architecture.md §8).

Each Parquet file is written again without those rows, batch by batch into a temporary file that replaces it; the
loadable file stays a hard link of the transformed one when it was one, and the quarantine's positions file
(excluded_rows.py) is written again for the new loadable file, every position shifted past the rows taken out, so
the load still leaves out exactly the quarantined rows. Rejects files lose the lines that hold the value.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.compliance.subject import ErasureError, Subject
from etl_assets.excluded_rows import ROW, StaleExcludedRows, excluded_count, write_excluded
from etl_assets.files import atomic_path
from etl_assets.ingest.upload import rejects_path_for
from etl_assets.lake import StagePaths, stage_paths
from etl_assets.paths import ProjectPaths
from etl_assets.quality.evaluate import link_or_copy

BATCH_ROWS = 65_536
STAGE_FOLDERS = ("uploads", "transformed", "loadable", "quarantine", "rejects")
POSITIONS_SUFFIX = ".rows"

Matcher = Callable[[pa.Array | pa.ChunkedArray], pa.BooleanArray]


@dataclass(frozen=True)
class LakeCounts:
    """Rows of the subject in the lake, by kind of file: uploads (original values), transformed, loadable (when not a
    link of the transformed file), quarantine, and reject lines; `files` is how many files hold any."""

    uploads: int = 0
    transformed: int = 0
    loadable: int = 0
    quarantine: int = 0
    rejects: int = 0
    files: int = 0

    def __add__(self, other: LakeCounts) -> LakeCounts:
        return LakeCounts(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))

    @property
    def rows(self) -> int:
        return self.uploads + self.transformed + self.loadable + self.quarantine + self.rejects


def lake_windows(paths: ProjectPaths, dataset: str) -> list[str]:
    """Every window the dataset's lake holds a file of, by its folder-safe name."""
    root = paths.dataset_lake(dataset)
    names = set()
    for folder in STAGE_FOLDERS:
        for path in (root / folder).glob("*") if (root / folder).is_dir() else ():
            if path.is_file() and not path.name.startswith(".") and path.suffix in (".parquet", ".jsonl"):
                names.add(path.name.removesuffix(path.suffix).removesuffix(POSITIONS_SUFFIX))
    return sorted(names)


def check_positions(paths: ProjectPaths, dataset: str) -> None:
    """Refuse, before anything changes, a window whose positions file no longer fits its loadable file: the
    positions could not be shifted right."""
    for window in lake_windows(paths, dataset):
        stage = stage_paths(paths, dataset, window)
        if stage.kept.exists() and stage.excluded.exists():
            try:
                excluded_count(stage.kept, stage.excluded)
            except StaleExcludedRows:
                raise ErasureError(
                    f"Window {window} of dataset '{dataset}' lists quarantined rows of an earlier version of its loadable "
                    "file; materialize that window again, then erase again."
                ) from None


def erase_from_lake(paths: ProjectPaths, dataset: str, subject: Subject, *, write: bool) -> LakeCounts:
    """The subject's rows in every window's lake files; taken out when `write`, only counted otherwise."""
    total = LakeCounts()
    for window in lake_windows(paths, dataset):
        total += _erase_window(paths, stage_paths(paths, dataset, window), subject, write)
    return total


def _erase_window(paths: ProjectPaths, stage: StagePaths, subject: Subject, write: bool) -> LakeCounts:
    uploads = 0
    if subject.source_column is not None:
        uploads = _rewrite(stage.upload, subject.source_column, subject.in_source_values, write)
    rejects = _erase_rejects(rejects_path_for(paths, stage.dataset, stage.window_key), subject, write)
    transformed, loadable = _erase_transformed_and_loadable(stage, subject, write)
    quarantine = _rewrite(stage.quarantine, subject.column, subject.in_table_values, write)
    if write and quarantine:
        _recount_verdict(stage)
    counts = (uploads, transformed, loadable, quarantine, rejects)
    return LakeCounts(*counts, files=sum(1 for count in counts if count))


def _erase_transformed_and_loadable(stage: StagePaths, subject: Subject, write: bool) -> tuple[int, int]:
    """Rows taken out of the transformed and the loadable file; the second is 0 when they are one file (a link)."""
    linked = stage.kept.exists() and stage.transformed.exists() and os.path.samefile(stage.kept, stage.transformed)
    if not linked:
        transformed = _rewrite(stage.transformed, subject.column, subject.in_table_values, write)
        return transformed, _erase_loadable(stage, subject, write, also=None)
    return _erase_loadable(stage, subject, write, also=stage.transformed), 0


def _erase_loadable(stage: StagePaths, subject: Subject, write: bool, also: Path | None) -> int:
    """Rows taken out of the loadable file (and `also`, its other link), with its positions file shifted to match."""
    if not stage.kept.exists():
        return 0
    positions = _positions(stage.kept, subject.column, subject.in_table_values)
    if not write or not len(positions):
        return len(positions)
    with atomic_path(stage.kept) as kept:
        _write_without(stage.kept, positions, kept)
        if stage.excluded.exists():
            excluded = pq.read_table(stage.excluded, columns=[ROW]).column(ROW).to_numpy()
            # written before the loadable file is replaced, for its identity (a rename keeps inode, size and mtime)
            write_excluded(kept, pa.array(_shifted(excluded, positions)), stage.excluded)
        if also is not None:
            link_or_copy(kept, also)
    return len(positions)


def _shifted(excluded: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """The excluded positions that remain, each moved up by the removed rows before it."""
    remaining = excluded[~np.isin(excluded, removed)]
    return remaining - np.searchsorted(removed, remaining)


def _rewrite(path: Path, column: str, matches: Matcher, write: bool) -> int:
    """Rows of `path` whose `column` matches; taken out when `write`. A file without the column has none."""
    if not path.exists():
        return 0
    positions = _positions(path, column, matches)
    if write and len(positions):
        with atomic_path(path) as temporary:
            _write_without(path, positions, temporary)
    return len(positions)


def _positions(path: Path, column: str, matches: Matcher) -> np.ndarray:
    """The 0-based positions of the matching rows, ascending, read one batch of the column at a time."""
    with pq.ParquetFile(path) as parquet:
        if column not in parquet.schema_arrow.names:
            return np.array([], dtype=np.int64)
        found, offset = [], 0
        for batch in parquet.iter_batches(BATCH_ROWS, columns=[column]):
            found.append(np.flatnonzero(matches(batch.column(0)).to_numpy(zero_copy_only=False)) + offset)
            offset += batch.num_rows
    return np.concatenate(found).astype(np.int64) if found else np.array([], dtype=np.int64)


def _write_without(path: Path, positions: np.ndarray, target: Path) -> None:
    """`path` without the rows at `positions`, in its own schema (metadata included), batch by batch."""
    with pq.ParquetFile(path) as parquet, pq.ParquetWriter(target, parquet.schema_arrow) as writer:
        offset = 0
        for batch in parquet.iter_batches(BATCH_ROWS):
            inside = positions[(positions >= offset) & (positions < offset + batch.num_rows)] - offset
            keep = np.ones(batch.num_rows, dtype=bool)
            keep[inside] = False
            writer.write_batch(batch.filter(pa.array(keep)))
            offset += batch.num_rows


def _recount_verdict(stage: StagePaths) -> None:
    """The verdict's quarantined-row count, after the quarantine lost the subject's rows."""
    if not stage.verdict.exists():
        return
    verdict = stage.read_verdict()
    rows = pq.read_metadata(verdict.quarantine_path).num_rows if verdict.quarantine_path and verdict.quarantine_path.exists() else 0
    stage.write_verdict(dataclasses.replace(verdict, quarantined_rows=rows))


def _erase_rejects(path: Path, subject: Subject, write: bool) -> int:
    """Reject lines whose raw text holds the value (only a column read from the uploads can be found there)."""
    if subject.source_column is None or not path.exists():
        return 0
    removed = sum(1 for line in _lines(path) if _holds(line, subject))
    if write and removed:
        with atomic_path(path) as temporary, temporary.open("w", encoding="utf-8") as target:
            target.writelines(line for line in _lines(path) if not _holds(line, subject))
    return removed


def _holds(line: str, subject: Subject) -> bool:
    return subject.mentioned_in(json.loads(line).get("raw") or "")


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as lines:
        yield from (line for line in lines if line.strip())
