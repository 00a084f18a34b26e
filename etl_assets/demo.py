"""`etl-assets demo`: lay sample uploads for the last few days, run every dataset's chain, print a summary."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from etl_assets.config.loader import load_config
from etl_assets.config.columns import WINDOW_START
from etl_assets.config.models import DatasetConfig, ProjectConfig
from etl_assets.errors import EtlAssetsError
from etl_assets.ingest.windows import TimeWindow, window_for
from etl_assets.lake import stage_paths
from etl_assets.markdown import markdown_table
from etl_assets.paths import ProjectPaths
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.connections import WarehouseConnections
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.identifiers import object_name

SAMPLE_ARRIVAL_HOUR = 12
# marks the run the demo launched, so it can find it in the instance afterwards
DEMO_RUN_TAG = "etl_assets/demo_run"
CODE_LOCATION = "etl_assets.definitions"


def sample_data_dir() -> Path:
    """`sample_data/` in the working directory, else beside the package (an editable install)."""
    for candidate in (Path("sample_data"), Path(__file__).resolve().parents[1] / "sample_data"):
        if candidate.is_dir():
            return candidate
    raise EtlAssetsError("No sample_data/ folder was found; run the demo from the etl_assets repository root.")


def ensure_dagster_home(paths: ProjectPaths) -> Path:
    """Runs are recorded in DAGSTER_HOME (default under ETL_ASSETS_HOME), the instance `make dev` shows."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(paths.dagster_home)))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists() and Path("dagster.yaml").is_file():
        shutil.copyfile("dagster.yaml", home / "dagster.yaml")
    return home


def demo_windows(dataset: DatasetConfig, days: int, now: dt.datetime) -> list[TimeWindow]:
    """The windows of the last `days` days, the still-open one included."""
    keys: dict[str, TimeWindow] = {}
    for back in range(days - 1, -1, -1):
        window = window_for(now - dt.timedelta(days=back), dataset.partitions)
        keys.setdefault(window.key, window)
    return list(keys.values())


def lay_sample_uploads(dataset: DatasetConfig, windows: list[TimeWindow], now: dt.datetime) -> dt.datetime:
    """Copy the dataset's sample files into its landing folder, one per window, dated inside it; return when all have settled."""
    samples = sorted((sample_data_dir() / dataset.name).glob("*"))
    if not samples:
        return now
    landing = Path(dataset.source.path)
    landing.mkdir(parents=True, exist_ok=True)
    settled_at = now
    for index, window in enumerate(windows):
        sample = samples[index % len(samples)]
        arrived = sample_arrival(window, now, dataset.source.settle_seconds)
        target = landing / f"{window.key.replace(':', '')}_{sample.name}"
        shutil.copyfile(sample, target)
        os.utime(target, (arrived.timestamp(), arrived.timestamp()))
        settled_at = max(settled_at, arrived + dt.timedelta(seconds=dataset.source.settle_seconds))
    return settled_at


def sample_arrival(window: TimeWindow, now: dt.datetime, settle_seconds: float) -> dt.datetime:
    """Midday of the window, or in the still-open window the latest time that has already settled (never before it opened)."""
    settled = now - dt.timedelta(seconds=settle_seconds)
    return max(window.start, min(window.start + dt.timedelta(hours=SAMPLE_ARRIVAL_HOUR), settled))


def run_dataset(dataset: DatasetConfig, windows: list[TimeWindow], instance: dg.DagsterInstance) -> dg.DagsterRun:
    """One run of the dataset's job over the whole range of windows, launched as `dagster job execute` is by a user."""
    marker = uuid.uuid4().hex
    tags = {ASSET_PARTITION_RANGE_START_TAG: windows[0].key, ASSET_PARTITION_RANGE_END_TAG: windows[-1].key, DEMO_RUN_TAG: marker}
    command = [
        sys.executable, "-m", "dagster", "job", "execute", "-m", CODE_LOCATION, "-j", dataset.job_name,
        "--tags", json.dumps(tags),
    ]  # fmt: skip
    # The summary table is the demo's output: the run's own log is captured here and kept in its event log.
    finished = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    runs = instance.get_runs(filters=dg.RunsFilter(tags={DEMO_RUN_TAG: marker}))
    if not runs:
        said = (finished.stderr.strip().splitlines() or ["it printed nothing"])[-1]
        raise EtlAssetsError(f"The {dataset.name} chain did not start ({said}); run `etl-assets validate` to check the config.")
    run = runs[0]
    if run.status != dg.DagsterRunStatus.SUCCESS:
        raise EtlAssetsError(f"The {dataset.name} chain failed: {first_failure(instance, run.run_id)}")
    return run


def first_failure(instance: dg.DagsterInstance, run_id: str) -> str:
    """The last line of the first failed step's error, which is the sentence the step raised."""
    failures = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    if not failures:
        return f"the run ended {instance.get_run_by_id(run_id).status.value.lower()}"
    return failures[0].event_log_entry.dagster_event.step_failure_data.error.message.strip().splitlines()[-1]


def checks_summary(instance: dg.DagsterInstance, run_id: str) -> str:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    evaluations = [record.event_log_entry.dagster_event.event_specific_data for record in records]
    failed = sorted({e.check_name for e in evaluations if not e.passed})
    passed = len(evaluations) - sum(not e.passed for e in evaluations)
    return f"{passed} passed, {len(evaluations) - passed} failed" + (f" ({', '.join(failed)})" if failed else "")


def rows_in_warehouse(dataset: DatasetConfig, windows: list[TimeWindow]) -> int:
    table = qualified_name(*(object_name(n) for n in (dataset.warehouse.database, dataset.warehouse.schema_, dataset.load.table)))
    start = quote_identifier(WINDOW_START)
    with WarehouseConnections.for_home(ProjectPaths.from_env()).connect(dataset.warehouse.connection) as connection:
        cursor = connection.cursor()
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE {start} >= %s AND {start} < %s",
            (windows[0].start.astimezone(dt.UTC).replace(tzinfo=None), windows[-1].end.astimezone(dt.UTC).replace(tzinfo=None)),
        )
        return int(cursor.fetchone()[0])


def load_order(config: ProjectConfig) -> list[DatasetConfig]:
    """Datasets that others reference load first."""
    referenced = {getattr(rule, "dataset", None) for d in config.datasets.values() for rule in d.quality}
    return sorted(config.datasets.values(), key=lambda d: (d.name not in referenced, d.name))


def run_demo(days: int = 3) -> int:
    if days < 1:
        raise EtlAssetsError("--days must be at least 1.")
    started = time.perf_counter()
    paths = ProjectPaths.from_env()
    ensure_dagster_home(paths)
    config = load_config()
    now = dt.datetime.now(dt.UTC)
    summary = []
    emulator = LocalEmulator(paths.warehouse)
    emulator_was_running = emulator.status() is not None
    with dg.DagsterInstance.get() as instance:
        for dataset in load_order(config):
            windows = demo_windows(dataset, days, now)
            settled_at = lay_sample_uploads(dataset, windows, now)
            # Only in a window opened less than the settle time ago: its sample must wait to settle.
            time.sleep(max(0.0, (settled_at - dt.datetime.now(dt.UTC)).total_seconds()))
            run_started = time.perf_counter()
            run = run_dataset(dataset, windows, instance)
            seconds = time.perf_counter() - run_started
            rows = rows_in_warehouse(dataset, windows)
            quarantined = sum(stage_paths(paths, dataset.name, w.key).read_verdict().quarantined_rows for w in windows)
            target = dataset.target_name
            summary.append(
                (dataset.name, f"{windows[0].key} … {windows[-1].key} ({len(windows)})", rows, quarantined, checks_summary(instance, run.run_id), target, f"{seconds:.1f}")
            )
    if not emulator_was_running:
        emulator.stop()
    print(markdown_table(["dataset", "windows", "rows loaded", "rows quarantined", "checks", "table", "run seconds"], summary))
    print(
        f"\nDone in {time.perf_counter() - started:.1f} s. Runs are in {os.environ['DAGSTER_HOME']} (`make dev` shows them); "
        'query the tables with `etl-assets warehouse sql "SELECT * FROM ANALYTICS.RAW.ORDERS"`.'
    )
    return 0
