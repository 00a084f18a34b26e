"""Which time window a landed file belongs to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from etl_assets.config.models import FilenamePartitioning, PartitionsConfig, SourceConfig
from etl_assets.config.re2 import only_named_groups
from etl_assets.errors import IngestError
from etl_assets.ingest.landing import LandedFile
from etl_assets.ingest.windows import window_for


def partition_key_for(file: LandedFile, source: SourceConfig, partitions: PartitionsConfig) -> str:
    """The partition key of `file`: by arrival time, or by the date in its name."""
    return partition_keys_for([file], source, partitions)[0]


def partition_keys_for(files: Sequence[LandedFile], source: SourceConfig, partitions: PartitionsConfig) -> list[str]:
    """The partition key of each file, in order; a file without one is an IngestError saying why."""
    keys = keys_or_problems(files, source, partitions)
    for key in keys:
        if isinstance(key, IngestError):
            raise key
    return keys  # type: ignore[return-value]


def files_by_window(
    files: Sequence[LandedFile], source: SourceConfig, partitions: PartitionsConfig
) -> tuple[dict[str, list[LandedFile]], list[tuple[LandedFile, IngestError]]]:
    """The files grouped by the window they belong to (windows in order), and those without one with why."""
    grouped: dict[str, list[LandedFile]] = {}
    unplaced: list[tuple[LandedFile, IngestError]] = []
    for file, key in zip(files, keys_or_problems(files, source, partitions), strict=True):
        if isinstance(key, IngestError):
            unplaced.append((file, key))
        else:
            grouped.setdefault(key, []).append(file)
    return dict(sorted(grouped.items())), unplaced


def keys_or_problems(files: Sequence[LandedFile], source: SourceConfig, partitions: PartitionsConfig) -> list[str | IngestError]:
    """The partition key of each file, or why it has none; a filename pattern runs once over all the names.

    `partition_by: {column: NAME}` has no key per file (each row has its own): see row_windows.py."""
    if source.partition_by == "arrival" or not files:
        return [window_for(file.arrived_at, partitions).key for file in files]
    if not isinstance(source.partition_by, FilenamePartitioning):
        raise IngestError(f"partition_by: column gives each row of {files[0].name!r} its own window, not the file one; read its rows for their windows.")
    pattern = source.partition_by.filename
    dates = _dates_in_names([file.name for file in files], pattern)
    dated = [_as_date(file, date, pattern) for file, date in zip(files, dates, strict=True)]
    return [moment if isinstance(moment, IngestError) else window_for(moment, partitions).key for moment in dated]


def _dates_in_names(names: list[str], pattern: str) -> list[str | None]:
    """What the `date` group finds in each name, searched anywhere in it by RE2 (linear time); None if nothing."""
    dates: list[str | None] = [None] * len(names)
    for rows, array in _name_arrays(names):
        for row, match in zip(rows, pc.extract_regex(array, pattern=only_named_groups(pattern)).to_pylist(), strict=True):
            date = match["date"] if match else None
            if isinstance(date, bytes):
                date = date.decode("utf-8", "surrogateescape")
            # RE2 gives an empty group when the date group sits in an alternative that did not match.
            dates[row] = date or None
    return dates


def _name_arrays(names: list[str]) -> list[tuple[list[int], pa.Array]]:
    """The names as text, and apart as bytes those the file system gave undecodable (RE2 reads bytes as Latin-1)."""
    undecodable = {row for row, name in enumerate(names) if not name.isascii() and _has_surrogates(name)}
    text_rows = [row for row in range(len(names)) if row not in undecodable]
    byte_rows = sorted(undecodable)
    return [
        (text_rows, pa.array([names[row] for row in text_rows], pa.string())),
        (byte_rows, pa.array([names[row].encode("utf-8", "surrogateescape") for row in byte_rows], pa.binary())),
    ]


def _has_surrogates(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _as_date(file: LandedFile, date: str | None, pattern: str) -> datetime | IngestError:
    if date is None:
        return IngestError(
            f"File {file.name!r} does not match the partition_by filename pattern {pattern!r}; "
            "rename the file so the pattern finds its date, or change partition_by in etl_config.yaml."
        )
    try:
        # Python 3.11 reads both 2026-01-15 and 20260115 (and ISO date-times).
        return datetime.fromisoformat(date)
    except ValueError:
        return IngestError(
            f"File {file.name!r}: {date!r} is not a date; the (?P<date>...) group must capture an ISO date "
            "such as 2026-01-15 or 20260115."
        )
