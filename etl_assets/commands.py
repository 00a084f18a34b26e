"""What `etl-assets upload` and `etl-assets status` do, as plain functions the CLI prints."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from etl_assets.config import load_config
from etl_assets.config.models import DatasetConfig, ProjectConfig
from etl_assets.defs.resources import LOCAL_CONNECTION, SnowflakeWarehouse
from etl_assets.errors import ConfigError, IngestError
from etl_assets.ingest.landing import LocalLandingZone
from etl_assets.ingest.upload import pending_windows
from etl_assets.paths import ProjectPaths
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.ledger import LEDGER_TABLE, LoadLedger
from etl_assets.warehouse.skipped_loads import skipped_loads


def dataset_named(config: ProjectConfig, name: str) -> DatasetConfig:
    try:
        return config.datasets[name]
    except KeyError:
        raise ConfigError(
            f"{config.source_file.name} has no dataset '{name}'; known datasets: {', '.join(sorted(config.datasets))}."
        ) from None


def upload_file(file: str, dataset_name: str) -> tuple[Path, str]:
    """Copy a file into the dataset's landing folder under a name no other file has; return it and its window."""
    source = Path(file)
    if not source.is_file():
        raise IngestError(f"{file} is not a file; give the path of the file to upload.")
    dataset = dataset_named(load_config(), dataset_name)
    if dataset.source.is_s3:
        raise IngestError(f"Dataset '{dataset_name}' lands in {dataset.source.path}; upload to S3 with `aws s3 cp` instead.")
    landing = Path(dataset.source.path)
    landing.mkdir(parents=True, exist_ok=True)
    target = landing / source.name
    counter = 1
    while target.exists():
        counter += 1
        target = landing / f"{source.stem}_{counter}{source.suffix}"
    partial = target.with_name(f".{target.name}.part")
    shutil.copyfile(source, partial)
    partial.rename(target)
    windows = [key for key, files in pending_windows(dataset).items() if any(f.path == target for f in files)]
    return target, windows[0] if windows else "unknown"


def status_report(dataset_name: str | None = None, ledger_rows: int = 5) -> str:
    """Per dataset: files waiting in landing, windows in the lake, and the newest entries of the load ledger."""
    config = load_config()
    paths = ProjectPaths.from_env()
    datasets = [dataset_named(config, dataset_name)] if dataset_name else list(config.datasets.values())
    lines = [f"ETL_ASSETS_HOME {paths.home}"]
    ledgers = load_ledgers(paths, datasets, ledger_rows)
    for dataset in datasets:
        waiting = [] if dataset.source.is_s3 else LocalLandingZone(Path(dataset.source.path), dataset.source.pattern).list_files()
        uploads = sorted((paths.dataset_lake(dataset.name) / "uploads").glob("*.parquet"))
        loaded = sorted((paths.dataset_lake(dataset.name) / "transformed").glob("*.parquet"))
        target = f"{dataset.warehouse.database}.{dataset.warehouse.schema_}.{dataset.load.table}"
        lines.append(f"{dataset.name} -> {target}")
        lines.append(f"  waiting in landing: {len(waiting)} files" + (f", oldest {_age(waiting[0].arrived_at)}" if waiting else ""))
        lines.append(f"  windows uploaded: {len(uploads)}" + (f" (latest {uploads[-1].stem})" if uploads else ""))
        lines.append(f"  windows transformed: {len(loaded)}" + (f" (latest {loaded[-1].stem})" if loaded else ""))
        entries = ledgers.get(dataset.name, [])
        lines.append(f"  load ledger ({dataset.warehouse.database}.{dataset.warehouse.schema_}.{LEDGER_TABLE}):" if entries else "  load ledger: no loads yet")
        lines += ["    " + line for line in ledger_table(entries).splitlines()] if entries else []
    return "\n".join(lines)


def load_ledgers(paths: ProjectPaths, datasets: list[DatasetConfig], limit: int) -> dict[str, list[dict]]:
    """Ledger rows per dataset, skipped loads included; the local emulator is left as it was found."""
    entries = {d.name: skipped_loads(paths.warehouse, d.name, limit) for d in datasets}
    local = [d for d in datasets if d.warehouse.connection == LOCAL_CONNECTION]
    if not local:
        return entries
    emulator = LocalEmulator(paths.warehouse)
    was_running = emulator.status() is not None
    try:
        with SnowflakeWarehouse(home=str(paths.home)).get_connection(LOCAL_CONNECTION) as connection:
            for dataset in local:
                ledger = LoadLedger(connection, dataset.warehouse.database, dataset.warehouse.schema_)
                entries[dataset.name] += ledger.recent(dataset.name, limit)
    finally:
        if not was_running:
            emulator.stop()
    for name, rows in entries.items():
        entries[name] = sorted(rows, key=lambda row: str(row.get("started_at")), reverse=True)[:limit]
    return entries


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


def _age(instant: dt.datetime) -> str:
    minutes = int((dt.datetime.now(dt.UTC) - instant).total_seconds() // 60)
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
