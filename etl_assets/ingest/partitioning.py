"""Which time window a landed file belongs to."""

from __future__ import annotations

import re
from datetime import datetime

from etl_assets.config.models import FilenamePartitioning, PartitionsConfig, SourceConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.landing import LandedFile
from etl_assets.ingest.windows import window_for


def partition_key_for(file: LandedFile, source: SourceConfig, partitions: PartitionsConfig) -> str:
    """The partition key of `file`: by arrival time, or by the date in its name."""
    if source.partition_by == "arrival":
        return window_for(file.arrived_at, partitions).key
    if isinstance(source.partition_by, FilenamePartitioning):
        return window_for(_date_in_name(file, source.partition_by.filename), partitions).key
    raise IngestError(
        f"partition_by: column is not supported yet (file {file.name!r}); use partition_by: arrival or partition_by: {{filename: REGEX}}."
    )


def _date_in_name(file: LandedFile, pattern: str) -> datetime:
    match = re.search(pattern, file.name)
    if match is None or match["date"] is None:
        raise IngestError(
            f"File {file.name!r} does not match the partition_by filename pattern {pattern!r}; "
            "rename the file so the pattern finds its date, or change partition_by in etl_config.yaml."
        )
    try:
        # Python 3.11 reads both 2026-01-15 and 20260115 (and ISO date-times).
        return datetime.fromisoformat(match["date"])
    except ValueError:
        raise IngestError(
            f"File {file.name!r}: {match['date']!r} is not a date; the (?P<date>...) group must capture an ISO date "
            "such as 2026-01-15 or 20260115."
        ) from None
