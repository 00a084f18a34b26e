"""`etl-assets`: demo, validate, upload, status, scripts, credentials and the local warehouse, without tracebacks."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence

from etl_assets.cli_credentials import add_credentials_commands
from etl_assets.erase_commands import add_erase_command
from etl_assets.retention_commands import add_retention_command
from etl_assets.errors import EtlAssetsError

USAGE_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="etl-assets", description=__doc__)
    parser.add_argument("--config", help="path to etl_config.yaml (default: $ETL_ASSETS_CONFIG or ./etl_config.yaml)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="lay sample uploads for the last days and load every dataset")
    demo.add_argument("--days", type=int, default=3, help="how many daily windows of sample uploads (default 3)")
    demo.set_defaults(handler=_demo)

    validate = commands.add_parser("validate", help="check etl_config.yaml and list the datasets")
    validate.set_defaults(handler=_validate)

    upload = commands.add_parser("upload", help="put a file into a dataset's landing zone")
    upload.add_argument("file")
    upload.add_argument("--dataset", required=True)
    upload.add_argument("--name", help="land it under this file name instead of its own (no path separators or '..')")
    upload.set_defaults(handler=_upload)

    status = commands.add_parser("status", help="files waiting, windows processed and rows in the warehouse")
    status.add_argument("--dataset")
    status.add_argument("--format", choices=("table", "json"), default="table", help="table for a terminal (default), json for scripts")
    status.set_defaults(handler=_status)

    scripts = commands.add_parser("scripts", help="a dataset's generated ETL scripts")
    script_actions = scripts.add_subparsers(dest="action", required=True, metavar="ACTION")
    generate = script_actions.add_parser("generate", help="write the dataset's script for a window's profiled upload, and say how")
    generate.add_argument("--dataset", required=True)
    generate.add_argument("--window", required=True, help="the window key, e.g. 2026-01-31")
    generate.add_argument("--dry-run", action="store_true", help="run every step but save nothing")
    generate.set_defaults(handler=_scripts_generate)

    add_credentials_commands(commands)
    add_retention_command(commands)
    add_erase_command(commands)

    warehouse = commands.add_parser("warehouse", help="the local Snowflake emulator")
    actions = warehouse.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("start", "start it (no-op if running)"), ("stop", "stop it"), ("status", "is it running, and where")):
        actions.add_parser(name, help=text).set_defaults(handler=_warehouse_control)
    sql = actions.add_parser("sql", help="run one SQL statement against it")
    sql.add_argument("statement")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.set_defaults(handler=_warehouse_sql)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Dagster's beta/preview notices are for the code's authors, not for someone running a command.
    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")
    args = build_parser().parse_args(argv)
    if args.config:
        os.environ["ETL_ASSETS_CONFIG"] = args.config
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except EtlAssetsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises no traceback unless asked for one
        if os.environ.get("ETL_ASSETS_DEBUG"):
            traceback.print_exc()
        print(f"error: unexpected {type(exc).__name__}: {exc} (set ETL_ASSETS_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def _demo(args: argparse.Namespace) -> int:
    from etl_assets.demo import run_demo

    return run_demo(days=args.days)


def _validate(args: argparse.Namespace) -> int:
    from etl_assets.config.loader import load_config

    config = load_config()
    print(f"{config.source_file}: {len(config.datasets)} datasets are valid")
    for dataset in config.datasets.values():
        target = dataset.target_name
        print(f"  {dataset.name}: {dataset.source.path} ({dataset.partitions.cadence}) -> {target} [{dataset.load.strategy}]")
    return 0


def _upload(args: argparse.Namespace) -> int:
    from etl_assets.commands import upload_file

    uploaded = upload_file(args.file, args.dataset, args.name)
    settled = uploaded.ready_at <= dt.datetime.now(dt.UTC)
    when = "now" if settled else f"from {uploaded.ready_at:%H:%M:%S} UTC, once unchanged for {uploaded.settle_seconds:g} s (source.settle_seconds)"
    keys = uploaded.window_keys
    windows = f"window {keys[0]}" if len(keys) == 1 else f"{len(keys)} windows: {', '.join(keys)}"
    partitions = f"--partition {keys[0]}" if len(keys) == 1 else f"--partition-range {keys[0]}...{keys[-1]}"
    print(
        f"{args.file} -> {uploaded.path} ({windows}); it is taken {when}: the {args.dataset}_uploads sensor "
        "loads it while `make dev` runs, or then run: "
        f"dagster asset materialize -m etl_assets.definitions --select 'group:{args.dataset}' {partitions}"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    from etl_assets.commands import status_report

    print(status_report(args.dataset, as_json=args.format == "json"))
    return 0


def _scripts_generate(args: argparse.Namespace) -> int:
    from etl_assets.script_commands import generate_for_window

    generated = generate_for_window(args.dataset, args.window, save=not args.dry_run)
    for line in generated.log:
        print(f"  {line}")
    print(f"{args.dataset} {args.window}: {generated.outcome}")
    if generated.path is not None:
        print(generated.path)
    return 0


def _warehouse_control(args: argparse.Namespace) -> int:
    from etl_assets.paths import ProjectPaths
    from etl_assets.warehouse.emulator import LocalEmulator

    emulator = LocalEmulator(ProjectPaths.from_env().warehouse)
    if args.action == "start":
        info = emulator.ensure_running()
        print(f"local Snowflake emulator running on {info.host}:{info.port} (pid {info.pid})")
    elif args.action == "stop":
        print("local Snowflake emulator stopped" if emulator.stop() else "local Snowflake emulator was not running")
    else:
        info = emulator.status()
        print(f"running on {info.host}:{info.port} (pid {info.pid})" if info else "not running")
        return 0 if info else 3
    return 0


def _warehouse_sql(args: argparse.Namespace) -> int:
    from etl_assets.paths import ProjectPaths
    from etl_assets.warehouse.connections import LOCAL_CONNECTION, WarehouseConnections
    from etl_assets.warehouse.query import format_result, run_query

    with WarehouseConnections.for_home(ProjectPaths.from_env()).connect(LOCAL_CONNECTION) as connection:
        columns, rows = run_query(connection, args.statement)
    print(format_result(columns, rows, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
