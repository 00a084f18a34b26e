"""The upload stage under `partition_by: {column: NAME}`: files are archived once for the dataset, not per window,
and each window takes its rows from every file's split (window_split.py), read once when the file is archived and
kept in the lake by the file's content hash."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import uuid
from pathlib import Path

from etl_assets.config.models import ColumnPartitioning, DatasetConfig
from etl_assets.files import write_atomically
from etl_assets.ingest.archive import ArchivedFile, archived_files
from etl_assets.ingest.members import source_members
from etl_assets.ingest.model import Lineage, SpooledFile
from etl_assets.ingest.row_windows import WindowRange
from etl_assets.paths import ProjectPaths
from etl_assets.ingest.window_split import SplitFile, home_summary, load_split, no_window, split_file, write_index

# The archive folder of a dataset whose rows each carry their own window: its files belong to no single window.
ROW_DATES_ARCHIVE = "by-row-date"
# Written last into a file's split folder: without it the split was cut short and is made again.
MEMBERS_FILE = "members.json"


def by_row_date(dataset: DatasetConfig) -> bool:
    return isinstance(dataset.source.partition_by, ColumnPartitioning)


def splits_folder(paths: ProjectPaths, dataset: DatasetConfig) -> Path:
    """Where each file's rows are kept split by window, by content hash."""
    return paths.dataset_lake(dataset.name) / "row_windows"


def prune_splits(paths: ProjectPaths, dataset: DatasetConfig, current: set[str]) -> None:
    """Drop the splits of contents no window reads any more (an older version of a name); the archive keeps their
    bytes, so one is made again if that content comes back."""
    folder = splits_folder(paths, dataset)
    for split in folder.iterdir() if folder.is_dir() else ():
        if split.name not in current:
            shutil.rmtree(split, ignore_errors=True)


def windows_fed_now(paths: ProjectPaths, dataset: DatasetConfig, names: set[str]) -> dict[str, set[str]]:
    """The windows the archived version of each of `names` feeds today: a new version must rebuild them too, or the
    rows it no longer has would stay in windows it no longer feeds."""
    fed: dict[str, set[str]] = {}
    for file in archived_files(paths.archive / dataset.name, ROW_DATES_ARCHIVE):
        split = load_file_split(splits_folder(paths, dataset) / file.sha256) if file.original_name in names else None
        if split is not None:
            fed[file.original_name] = {key for member in split.members for key in (*member.rows, member.home)}
    return fed


@dataclasses.dataclass(frozen=True)
class FileSplit:
    """A file's splits, one per file it holds (itself, a zip's members, a workbook's sheets), in one folder."""

    folder: Path
    members: list[SplitFile]


def split_new_file(path: Path, dataset: DatasetConfig, original_name: str, lineage: Lineage, scratch: Path) -> FileSplit:
    """Split every file the upload holds by window, in a scratch folder; `keep` moves it where it is kept."""
    assert isinstance(dataset.source.partition_by, ColumnPartitioning)
    column = dataset.source.partition_by.column
    allowed = WindowRange.of(dataset.partitions)
    folder = scratch / uuid.uuid4().hex
    try:
        members = [
            split_file(read, Lineage(name, lineage.arrived_at), column, dataset.partitions, allowed, folder / str(index))
            for index, (name, read) in enumerate(source_members(path, original_name, dataset.source, scratch))
        ]
        if not any(member.rows for member in members):
            raise no_window(original_name, column, members)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    # A member without a row in any window still has its rejects counted: in the file's first window.
    home = min(member.home for member in members if member.rows)
    members = [member if member.rows else dataclasses.replace(member, home=home) for member in members]
    for member in members:
        write_index(member)
    write_atomically(folder / MEMBERS_FILE, json.dumps(len(members)))
    return FileSplit(folder, members)


def keep(split: FileSplit, folder: Path) -> FileSplit:
    """Move a split made in a scratch folder to where it is kept, by content hash (an older one there is replaced)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.replace(split.folder, folder)
    return load_file_split(folder)  # type: ignore[return-value]


def load_file_split(folder: Path) -> FileSplit | None:
    """The split kept in `folder`; None when there is none whole."""
    try:
        count = json.loads((folder / MEMBERS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    members = [load_split(folder / str(index)) for index in range(count)]
    return FileSplit(folder, members) if all(members) else None  # type: ignore[arg-type]


def window_shares(file: ArchivedFile, split: FileSplit, window_key: str, parts: Path) -> list[SpooledFile]:
    """What `file` gives window `window_key`: each member's rows there (linked from the kept split into `parts`),
    with its rejects when this is the window they count in."""
    shares = []
    for member in split.members:
        if window_key not in member.rows and window_key != member.home:
            continue
        linked = []
        for part in member.part_paths(window_key):
            # a link, since combining the window's parts may move a part into place
            linked.append(parts / f"{uuid.uuid4().hex}.parquet")
            os.link(part, linked[-1])
        summary = home_summary(member) if window_key == member.home else dataclasses.replace(member.summary, rejects=[], short_rows=0)
        shares.append(SpooledFile(tuple(linked), member.rows.get(window_key, 0), member.lineage, summary))
    return shares


def split_matches(split: FileSplit, file: ArchivedFile) -> bool:
    """The split was made from this arrival of the file."""
    return all(member.lineage.is_within(Lineage(file.original_name, file.arrived_at)) for member in split.members)
