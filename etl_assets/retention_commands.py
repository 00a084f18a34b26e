"""`etl-assets retention --dataset NAME [--dry-run]`: delete a dataset's expired windows now, as its daily retention
job would (docs/architecture.md §8)."""

from __future__ import annotations

import argparse
import datetime as dt
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from etl_assets.compliance.retention import RetentionResult


def add_retention_command(commands: argparse._SubParsersAction) -> None:
    retention = commands.add_parser("retention", help="delete a dataset's windows older than its compliance.retention_days")
    retention.add_argument("--dataset", required=True)
    retention.add_argument("--dry-run", action="store_true", help="list what would be removed; change nothing")
    retention.set_defaults(handler=_retention)


def run_retention(dataset_name: str, dry_run: bool = False) -> RetentionResult:
    """Expire the dataset's old windows through its warehouse connection; each deletion is a ledger row whose run id
    starts with `cli-`."""
    from etl_assets.commands import dataset_named
    from etl_assets.compliance.retention import expire_windows, retention_cutoff
    from etl_assets.config.loader import load_config
    from etl_assets.paths import ProjectPaths
    from etl_assets.warehouse.connections import WarehouseConnections

    dataset = dataset_named(load_config(), dataset_name)
    now = dt.datetime.now(dt.UTC)
    retention_cutoff(dataset, now)  # a dataset that keeps its windows is refused before any connection opens
    paths = ProjectPaths.from_env()
    with WarehouseConnections.for_home(paths).connect(dataset.warehouse.connection) as connection:
        return expire_windows(dataset, paths, connection, now, f"cli-{uuid.uuid4()}", dry_run)


def _retention(args: argparse.Namespace) -> int:
    result = run_retention(args.dataset, args.dry_run)
    print("\n".join(result.lines()))
    if result.dry_run and result.windows:
        print("dry run: nothing was changed")
    return 0
