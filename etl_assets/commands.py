"""What `etl-assets upload` and `etl-assets status` do, as plain functions the CLI prints."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from etl_assets.config.loader import load_config
from etl_assets.config.models import ColumnPartitioning, DatasetConfig, ProjectConfig
from etl_assets.errors import ConfigError, EtlAssetsError, IngestError
from etl_assets.ingest.landing import FAILED_FOLDER, LandedFile, arrival_time, ignored_because
from etl_assets.ingest.members import source_members
from etl_assets.json_values import json_safe
from etl_assets.ingest.partitioning import partition_key_for
from etl_assets.ingest.pending import windows_of_rows
from etl_assets.ingest.windows import TimeWindow, window_for, window_from_key
from etl_assets.ingest.zones import landing_zone_for
from etl_assets.paths import ProjectPaths
from etl_assets.status import add_check_results, summary_table, warehouse_status


def dataset_named(config: ProjectConfig, name: str) -> DatasetConfig:
    try:
        return config.datasets[name]
    except KeyError:
        raise ConfigError(
            f"{config.source_file.name} has no dataset '{name}'; known datasets: {', '.join(sorted(config.datasets))}."
        ) from None


@dataclass(frozen=True)
class UploadedFile:
    """A file put into a landing zone: where it landed (a local path or an s3:// location), the windows it will
    feed, and when it has settled and may be taken."""

    path: Path | str
    window_keys: list[str]
    ready_at: dt.datetime
    settle_seconds: float


def upload_file(file: str, dataset_name: str, name: str | None = None) -> UploadedFile:
    """Put a file into the dataset's landing zone under its own name (or `name`), atomically, once a sample of it
    reads in the dataset's format; refusing one that would never load, or that is not the user's own file to send."""
    source = _own_file(Path(file))
    name = _landing_name(name or source.name)
    dataset = dataset_named(load_config(), dataset_name)
    _refuse_unloadable(name, dataset)
    _check_readable(source, name, dataset)
    placed = _upload_to_s3(source, name, dataset) if dataset.source.is_s3 else _upload_to_folder(source, name, dataset)
    return dataclasses.replace(placed, window_keys=_windows_fed(placed, source, name, dataset))


def _own_file(source: Path) -> Path:
    """The file to send: a regular file, and a symlink only to one inside the working tree (a link to
    ~/.aws/credentials or /etc/shadow would put someone else's secrets in the warehouse)."""
    if source.is_dir():
        raise IngestError(f"Not uploaded: {source} is a directory; upload its files one at a time.")
    if not source.is_file():
        raise IngestError(f"Not uploaded: {source} is not a file; give the path of the file to upload.")
    if source.is_symlink() and not source.resolve().is_relative_to(Path.cwd().resolve()):
        raise IngestError(f"Not uploaded: {source} is a link to {source.resolve()}, outside the working tree; copy the file here if it is yours to send.")
    return source


def _landing_name(name: str) -> str:
    """A name that stays inside the landing zone: no path separator, no `..`."""
    if "/" in name or "\\" in name or ".." in name or name == ".":
        raise IngestError(f"Not uploaded: {name!r} is not a plain file name; give a name without path separators or '..'.")
    return name


def _check_readable(source: Path, name: str, dataset: DatasetConfig) -> None:
    """Read the start of every file the upload holds in the dataset's format, so a file that cannot load is refused here."""
    try:
        with tempfile.TemporaryDirectory(prefix="etl-assets-upload-") as scratch:
            for _, read in source_members(source, name, dataset.source, Path(scratch)):
                next(read.batches, None)
                if hasattr(read.batches, "close"):  # a generator: end it, and the member's temporary files with it
                    read.batches.close()
    except IngestError as exc:
        raise IngestError(f"Not uploaded: {exc}") from None


def _upload_to_folder(source: Path, name: str, dataset: DatasetConfig) -> UploadedFile:
    landing = Path(dataset.source.path)
    landing.mkdir(parents=True, exist_ok=True)
    target = landing / name
    if target.exists():
        raise _already_waiting(target.name, str(landing), dataset.name)
    partial = landing / f".{name}.{uuid.uuid4().hex}.part"
    try:
        shutil.copyfile(source, partial)
        # A link, unlike a rename, never replaces a file that landed under the same name meanwhile.
        os.link(partial, target)
    except FileExistsError:
        raise _already_waiting(target.name, str(landing), dataset.name) from None
    finally:
        partial.unlink(missing_ok=True)
    stat = target.stat()
    settle = dataset.source.settle_seconds
    return UploadedFile(target, [], arrival_time(stat.st_mtime) + dt.timedelta(seconds=settle), settle)


def _upload_to_s3(source: Path, name: str, dataset: DatasetConfig) -> UploadedFile:
    """One PUT into the dataset's S3 prefix; S3 shows an object only once it is whole, so it may be taken at once."""
    from etl_assets.ingest.s3_landing import S3LandingZone, s3_client_for

    zone = S3LandingZone(dataset.source, s3_client_for(dataset.source))
    landed = zone.place(source, name)
    if landed is None:
        raise _already_waiting(name, zone.location, dataset.name)
    return UploadedFile(f"{zone.location}/{name}", [], landed.arrived_at, 0.0)


def _windows_fed(placed: UploadedFile, source: Path, name: str, dataset: DatasetConfig) -> list[str]:
    """The windows the file will feed: that of its arrival or name, or those of its rows' dates."""
    if isinstance(dataset.source.partition_by, ColumnPartitioning):
        return windows_of_rows(dataset, source, name)
    landed = LandedFile(None, name, 0, placed.ready_at - dt.timedelta(seconds=placed.settle_seconds))
    return [partition_key_for(landed, dataset.source, dataset.partitions)]


def _refuse_unloadable(name: str, dataset: DatasetConfig) -> None:
    """Raise when a file called `name` would never be read or never belong to one of the dataset's windows."""
    ignored = ignored_because(name, dataset.source.pattern)
    if ignored:
        raise IngestError(f"Not uploaded: {name!r} would never be read by dataset '{dataset.name}' because {ignored.reason}; {ignored.remedy}.")
    if isinstance(dataset.source.partition_by, ColumnPartitioning):
        return  # its rows' dates say its windows: read once the file is known to read
    window = _window_if_landed_now(name, dataset)
    first = window_for(dataset.partitions.start_datetime, dataset.partitions)
    if window.start < first.start:
        raise IngestError(
            f"Not uploaded: {name!r} belongs to window {window.key}, before dataset '{dataset.name}' starts at {first.key}, "
            "so it would never load; correct the file's date or move partitions.start earlier in etl_config.yaml."
        )


def _window_if_landed_now(name: str, dataset: DatasetConfig) -> TimeWindow:
    try:
        key = partition_key_for(LandedFile(Path(name), name, 0, dt.datetime.now(dt.UTC)), dataset.source, dataset.partitions)
    except IngestError as exc:
        raise IngestError(f"Not uploaded: {exc}") from None
    return window_from_key(key, dataset.partitions)


def _already_waiting(name: str, landing: str, dataset_name: str) -> IngestError:
    return IngestError(
        f"Not uploaded: {name!r} is already waiting in {landing} for dataset '{dataset_name}' and has not been ingested yet; "
        "upload again once `etl-assets status` no longer lists it, or delete the waiting file to replace it."
    )


def status_report(dataset_name: str | None = None, ledger_rows: int = 5, as_json: bool = False) -> str:
    """Per dataset: a summary row (rows in the warehouse, last window loaded, windows failed, blocked or pending,
    landing, the quality checks' last results), then files in landing, windows in the lake and the newest ledger
    entries; or all of it as JSON."""
    config = load_config()
    paths = ProjectPaths.from_env()
    datasets = [dataset_named(config, dataset_name)] if dataset_name else list(config.datasets.values())
    statuses = warehouse_status(paths, datasets, ledger_rows)
    add_check_results(statuses, datasets)
    landing = {dataset.name: _landing_lines(dataset) for dataset in datasets}
    if as_json:
        report = [statuses[d.name].as_json() | {"landing": [line.strip() for line in landing[d.name]]} for d in datasets]
        return json.dumps(report, indent=2, default=json_safe)  # the ledger's times, decimals... as JSON holds them
    summary = {name: "; ".join(line.strip().removeprefix("waiting in landing: ") for line in lines[:1]) for name, lines in landing.items()}
    lines = [f"ETL_ASSETS_HOME {paths.home}", summary_table([statuses[d.name] for d in datasets], summary)]
    for dataset in datasets:
        uploads = sorted((paths.dataset_lake(dataset.name) / "uploads").glob("*.parquet"))
        loaded = sorted((paths.dataset_lake(dataset.name) / "transformed").glob("*.parquet"))
        lines.append(f"{dataset.name} -> {dataset.target_name}")
        lines += landing[dataset.name]
        lines.append(f"  windows uploaded: {len(uploads)}" + (f" (latest {uploads[-1].stem})" if uploads else ""))
        lines.append(f"  windows transformed: {len(loaded)}" + (f" (latest {loaded[-1].stem})" if loaded else ""))
        status = statuses[dataset.name]
        if status.checks_failed:
            lines.append(f"  checks failing at their last run: {', '.join(status.checks_failed)}")
        lines += [f"  ({problem})" for problem in status.problems]
        entries = status.recent_loads
        lines.append(f"  load ledger ({dataset.ledger_name}):" if entries else "  load ledger: no loads yet")
        lines += ["    " + line for line in ledger_table(entries).splitlines()] if entries else []
    return "\n".join(lines)


def _landing_lines(dataset: DatasetConfig) -> list[str]:
    """Files waiting in the dataset's landing zone, and those set aside there as unreadable with their reason's first line."""
    try:
        zone = landing_zone_for(dataset.source)
        scan, failed = zone.scan(), zone.failed_files()
    except EtlAssetsError as exc:
        return [f"  landing zone: {exc}"]
    waiting, settling = scan.ready, scan.settling
    lines = [f"  waiting in landing: {_files(len(waiting))}" + (f", oldest {_age(waiting[0].arrived_at)}" if waiting else "")]
    if not dataset.source.is_s3:  # an S3 object is listed only once whole, so nothing settles there
        lines.append(f"  still settling in landing: {_files(len(settling))} (taken once unchanged for {dataset.source.settle_seconds:g} s)")
    if failed:
        lines.append(f"  set aside as unreadable in {zone.location}/{FAILED_FOLDER}: {_files(len(failed))}")
        lines += [f"    {file.name}: {(file.reason.splitlines() or [''])[0]}" for file in failed]
    return lines


def ledger_table(entries: list[dict]) -> str:
    def rows_of(entry: dict) -> str:
        counts = [entry.get(k) for k in ("rows_inserted", "rows_updated", "rows_deleted")]
        return "" if all(c is None for c in counts) else "+{} ~{} -{}".format(*(c or 0 for c in counts))

    header = ["window", "status", "strategy", "attempt", "rows +ins ~upd -del", "finished", "error"]
    body = [
        [
            str(e.get("window_key", "")),
            str(e.get("status", "")),
            str(e.get("strategy") or ""),
            str(e.get("attempt") or ""),
            rows_of(e),
            str(e.get("finished_at") or "")[:19],
            str(e.get("error") or "")[:80],
        ]
        for e in entries
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in [header, *body])


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _age(instant: dt.datetime) -> str:
    minutes = int((dt.datetime.now(dt.UTC) - instant).total_seconds() // 60)
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
