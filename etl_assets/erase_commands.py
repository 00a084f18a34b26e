"""`etl-assets erase --dataset NAME --where COLUMN=VALUE [--dry-run]`: one subject's rows out of everything the
pipeline keeps (docs/architecture.md §8). The value is never printed, logged or stored, nor is its token."""

from __future__ import annotations

import argparse
import getpass
import os

from etl_assets.compliance.subject import ErasureError

ACTOR_ENV_VAR = "ETL_ASSETS_ACTOR"


def add_erase_command(commands: argparse._SubParsersAction) -> None:
    erase = commands.add_parser("erase", help="remove one person's rows from the table, the lake and the archive")
    erase.add_argument("--dataset", required=True)
    erase.add_argument("--where", required=True, metavar="COLUMN=VALUE", help="the table column and the value that picks the person's rows")
    erase.add_argument("--dry-run", action="store_true", help="count what would be removed, where; change nothing")
    erase.set_defaults(handler=_erase)


def parse_where(text: str) -> tuple[str, str]:
    """`COLUMN=VALUE` split at its first `=`; the message never repeats the text, which may be the value itself."""
    column, equals, value = text.partition("=")
    if not equals or not column.strip() or not value:
        raise ErasureError("--where takes COLUMN=VALUE, a column of the dataset's table, '=' and the value to erase, e.g. --where email=someone@example.com.")
    return column.strip(), value


def acting_user() -> str:
    """Who asked: ETL_ASSETS_ACTOR when set (a service account acting for someone), else the OS login."""
    try:
        return os.environ.get(ACTOR_ENV_VAR) or getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _erase(args: argparse.Namespace) -> int:
    from etl_assets.commands import dataset_named
    from etl_assets.compliance.erasure import erase_subject
    from etl_assets.compliance.subject import subject_for
    from etl_assets.config.loader import load_config
    from etl_assets.paths import ProjectPaths
    from etl_assets.warehouse.connections import WarehouseConnections

    column, value = parse_where(args.where)
    dataset = dataset_named(load_config(), args.dataset)
    paths = ProjectPaths.from_env()
    subject = subject_for(dataset, column, value, _hash_key(dataset, column, paths))
    connections = WarehouseConnections.for_home(paths)
    name = dataset.warehouse.connection
    if not connections.has_connection(name):
        raise ErasureError(
            f"Dataset '{dataset.name}' loads through warehouse connection '{name}', which is not in the vault, so its "
            f"table cannot be reached; add it with `etl-assets credentials set {name}` and erase again."
        )
    with connections.connect(name) as connection:
        erasure = erase_subject(dataset, paths, connection, subject, actor=acting_user(), dry_run=args.dry_run)
    _print(erasure)
    return 0


def _hash_key(dataset, column: str, paths):
    """The dataset's hash key when the column is masked with `hash`; None otherwise (no vault is opened)."""
    if column not in dataset.compliance.masked("hash"):
        return None
    from etl_assets.compliance.keys import load_hash_key
    from etl_assets.credentials import Vault

    return load_hash_key(Vault.for_home(paths.home), dataset)


def _print(erasure) -> None:
    counts, lake = erasure.counts, erasure.counts.lake
    verb = "would remove" if erasure.dry_run else "removed"
    print(f"{erasure.dataset}: erase by {erasure.subject.column}{' (hashed)' if erasure.subject.hashed else ''}{' - dry run, nothing changed' if erasure.dry_run else ''}")
    print(f"  table: {verb} {counts.table} rows")
    print(f"  quarantine table: {verb} {counts.quarantine_table} rows")
    print(
        f"  lake files: {verb} {lake.rows} rows in {lake.files} files (uploads {lake.uploads}, transformed {lake.transformed}, "
        f"loadable {lake.loadable}, quarantine {lake.quarantine}, reject lines {lake.rejects})"
    )
    print(f"  archived uploads: {verb} {counts.archived_records} records in {counts.archived_files} files")
    for note in erasure.notes:
        print(f"  note: {note}")
    if not erasure.dry_run:
        print(f"  audit record: {erasure.audit_id} (ledger status erased, run {erasure.run_id})")
