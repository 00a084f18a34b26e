"""What `etl-assets upload` and `etl-assets status` do, as plain functions the CLI prints."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from etl_assets.config import load_config
from etl_assets.config.models import DatasetConfig, ProjectConfig
from etl_assets.errors import ConfigError, IngestError
from etl_assets.ingest.landing import LocalLandingZone
from etl_assets.ingest.upload import pending_windows
from etl_assets.paths import ProjectPaths


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


def status_report(dataset_name: str | None = None) -> str:
    """Per dataset: files waiting in landing, windows in the lake, and the target table."""
    config = load_config()
    paths = ProjectPaths.from_env()
    datasets = [dataset_named(config, dataset_name)] if dataset_name else list(config.datasets.values())
    lines = [f"ETL_ASSETS_HOME {paths.home}"]
    for dataset in datasets:
        waiting = [] if dataset.source.is_s3 else LocalLandingZone(Path(dataset.source.path), dataset.source.pattern).list_files()
        uploads = sorted((paths.dataset_lake(dataset.name) / "uploads").glob("*.parquet"))
        loaded = sorted((paths.dataset_lake(dataset.name) / "transformed").glob("*.parquet"))
        target = f"{dataset.warehouse.database}.{dataset.warehouse.schema_}.{dataset.load.table}"
        lines.append(f"{dataset.name} -> {target}")
        lines.append(f"  waiting in landing: {len(waiting)} files" + (f", oldest {_age(waiting[0].arrived_at)}" if waiting else ""))
        lines.append(f"  windows uploaded: {len(uploads)}" + (f" (latest {uploads[-1].stem})" if uploads else ""))
        lines.append(f"  windows transformed: {len(loaded)}" + (f" (latest {loaded[-1].stem})" if loaded else ""))
    return "\n".join(lines)


def _age(instant: dt.datetime) -> str:
    minutes = int((dt.datetime.now(dt.UTC) - instant).total_seconds() // 60)
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
