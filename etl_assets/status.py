"""`etl-assets status`: per dataset, what the ledger, the warehouse, the landing zone and the Dagster instance say,
as a table for a terminal or as JSON for scripts."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from etl_assets.config.models import DatasetConfig
from etl_assets.errors import EtlAssetsError
from etl_assets.paths import ProjectPaths
from etl_assets.sql_text import qualified_name
from etl_assets.warehouse.connections import LOCAL_CONNECTION, WarehouseConnections
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.ledger import LoadLedger
from etl_assets.warehouse.skipped_loads import skipped_loads

# ledger statuses of an attempt still under way
UNDER_WAY = ("pending", "uploading")
LEDGER_ROWS_READ = 100_000
CHECK_EVENTS_READ = 10_000


@dataclass
class DatasetStatus:
    """One dataset at a glance; `problems` says what could not be read (the warehouse, the Dagster instance)."""

    dataset: str
    table: str
    rows_in_warehouse: int | None = None
    last_window_loaded: str | None = None
    windows_failed: list[str] = field(default_factory=list)
    windows_blocked: list[str] = field(default_factory=list)
    windows_pending: list[str] = field(default_factory=list)
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # the newest ledger entries, loads skipped for want of credentials included
    recent_loads: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def warehouse_status(paths: ProjectPaths, datasets: list[DatasetConfig], recent: int) -> dict[str, DatasetStatus]:
    """Each dataset's windows by their latest ledger outcome, its table's row count and its `recent` newest ledger
    entries; the local emulator is left as it was found, and a dataset loading elsewhere says its warehouse was not asked."""
    statuses = {d.name: DatasetStatus(d.name, d.target_name, recent_loads=skipped_loads(paths.warehouse, d.name, recent)) for d in datasets}
    local = [d for d in datasets if d.warehouse.connection == LOCAL_CONNECTION]
    for dataset in datasets:
        if dataset not in local:
            statuses[dataset.name].problems.append(f"warehouse connection '{dataset.warehouse.connection}' not asked: status reads the local emulator only")
    try:
        with local_warehouse(paths) if local else contextlib.nullcontext() as connection:
            for dataset in local:
                read_warehouse_status(connection, dataset, statuses[dataset.name])
    except EtlAssetsError as exc:
        for dataset in local:
            statuses[dataset.name].problems.append(f"warehouse: {exc}")
    for status in statuses.values():
        status.recent_loads = sorted(status.recent_loads, key=lambda row: str(row.get("started_at")), reverse=True)[:recent]
    return statuses


@contextmanager
def local_warehouse(paths: ProjectPaths) -> Iterator[Any]:
    """A connection to the local emulator, which is left as it was found: stopped afterwards if it was not running."""
    emulator = LocalEmulator(paths.warehouse)
    was_running = emulator.status() is not None
    try:
        with WarehouseConnections.for_home(paths).connect(LOCAL_CONNECTION) as connection:
            yield connection
    finally:
        if not was_running:
            emulator.stop()


def read_warehouse_status(connection: Any, dataset: DatasetConfig, status: DatasetStatus) -> None:
    """Fill in `status` from the dataset's ledger (each window at its latest attempt) and its table's row count."""
    ledger = LoadLedger(connection, dataset.warehouse.database, dataset.warehouse.schema_)
    entries = sorted(ledger.recent(dataset.name, LEDGER_ROWS_READ), key=lambda row: str(row.get("started_at")))
    status.recent_loads += entries
    latest = {str(entry["window_key"]): str(entry["status"]) for entry in entries}
    loaded = sorted(key for key, outcome in latest.items() if outcome == "uploaded")
    status.last_window_loaded = loaded[-1] if loaded else None
    status.windows_failed = sorted(key for key, outcome in latest.items() if outcome == "failed")
    status.windows_blocked = sorted(key for key, outcome in latest.items() if outcome == "blocked")
    status.windows_pending = sorted(key for key, outcome in latest.items() if outcome in UNDER_WAY)
    warehouse = dataset.warehouse
    table = qualified_name(warehouse.database.upper(), warehouse.schema_.upper(), dataset.load.table.upper())
    try:
        status.rows_in_warehouse = connection.cursor().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except Exception:  # noqa: BLE001 - no table yet: nothing loaded
        status.rows_in_warehouse = None


def add_check_results(statuses: dict[str, DatasetStatus], datasets: list[DatasetConfig]) -> None:
    """The latest result of every check on each dataset's five assets, from the Dagster instance in DAGSTER_HOME
    (its newest CHECK_EVENTS_READ check evaluations)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home or not Path(home, "dagster.yaml").exists():
        for status in statuses.values():
            status.problems.append("checks: no Dagster instance (DAGSTER_HOME with a dagster.yaml) to read them from")
        return
    import dagster as dg
    from dagster._core.event_api import EventRecordsFilter
    from dagster._core.events import DagsterEventType

    owner = {tuple(path): dataset.name for dataset in datasets for path in _asset_paths(dataset)}
    latest: dict[tuple[str, str], bool] = {}
    with dg.DagsterInstance.get() as instance:
        records = instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION), limit=CHECK_EVENTS_READ, ascending=False)
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        name = owner.get(tuple(evaluation.asset_key.path))
        if name is not None:
            latest.setdefault((name, evaluation.check_name), evaluation.passed)  # newest first: the first seen is the latest
    for (name, check), passed in sorted(latest.items()):
        (statuses[name].checks_passed if passed else statuses[name].checks_failed).append(check)


def _asset_paths(dataset: DatasetConfig) -> list[list[str]]:
    """The keys of the dataset's five assets (docs/architecture.md §1)."""
    return [[stage, dataset.name] for stage in ("uploads", "profiles", "scripts", "transformed")] + [dataset.asset_table_path]


def summary_table(statuses: list[DatasetStatus], landing: dict[str, str]) -> str:
    """One row per dataset, as rich draws it for a terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="etl_assets status")
    for column in ("dataset", "table", "rows", "last loaded", "failed", "blocked", "pending", "landing", "checks"):
        table.add_column(column, overflow="fold")
    for status in statuses:
        checks = f"{len(status.checks_passed)} passed, {len(status.checks_failed)} failed" if status.checks_passed or status.checks_failed else "-"
        table.add_row(
            status.dataset,
            status.table,
            "-" if status.rows_in_warehouse is None else f"{status.rows_in_warehouse:,}",
            status.last_window_loaded or "-",
            _windows(status.windows_failed),
            _windows(status.windows_blocked),
            _windows(status.windows_pending),
            landing.get(status.dataset, "-"),
            checks,
        )
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(table)
    return out.getvalue().rstrip()


def _windows(keys: list[str]) -> str:
    if not keys:
        return "-"
    return ", ".join(keys) if len(keys) <= 3 else f"{len(keys)}: {keys[0]} ... {keys[-1]}"
