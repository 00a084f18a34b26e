"""`etl-assets credentials ...`: secrets come from standard input or a hidden prompt, never from argv."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from etl_assets.errors import CredentialsError

CLEAR_OPTIONS = {
    "snowflake": ("account", "user", "role", "warehouse", "database", "schema", "host", "port", "protocol"),
    "s3": ("access_key_id", "region", "endpoint_url"),
    "bedrock": ("region", "access_key_id", "model_id"),
}
SECRET_NAMES = {"snowflake": "password", "s3": "secret_access_key", "bedrock": "secret_access_key"}


def add_credentials_commands(commands: argparse._SubParsersAction) -> None:
    credentials = commands.add_parser("credentials", help="the encrypted vault of connection profiles")
    actions = credentials.add_subparsers(dest="action", required=True, metavar="ACTION")

    set_ = actions.add_parser("set", help="add or replace a profile (secrets from stdin or a hidden prompt)")
    set_.add_argument("name")
    set_.add_argument("--kind", choices=tuple(CLEAR_OPTIONS), default="snowflake")
    for option in sorted({o for options in CLEAR_OPTIONS.values() for o in options}):
        set_.add_argument(f"--{option.replace('_', '-')}", dest=option, type=int if option == "port" else str)
    set_.add_argument("--password-stdin", action="store_true", help="read the secret (password or secret key) from stdin")
    set_.add_argument("--private-key-file", type=Path, help="key-pair auth: a PEM private key file")
    set_.add_argument("--passphrase-stdin", action="store_true", help="read the private key's passphrase from stdin")
    set_.set_defaults(handler=_set)

    actions.add_parser("list", help="names, kinds and non-secret fields").set_defaults(handler=_list)
    test = actions.add_parser("test", help="connect and run SELECT 1")
    test.add_argument("name")
    test.set_defaults(handler=_test)
    actions.add_parser("rotate", help="re-encrypt every profile under the first key").set_defaults(handler=_rotate)
    delete = actions.add_parser("delete", help="remove a profile")
    delete.add_argument("name")
    delete.set_defaults(handler=_delete)
    actions.add_parser("new-key", help="print a new Fernet key for ETL_ASSETS_FERNET_KEY").set_defaults(handler=_new_key)


def _vault():
    from etl_assets.credentials import Vault
    from etl_assets.paths import ProjectPaths

    return Vault.for_home(ProjectPaths.from_env().home)


def _read_secret(what: str, from_stdin: bool) -> str:
    if from_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        value = getpass.getpass(f"{what}: ")
    else:
        raise CredentialsError(f"No {what} was given; pipe it on standard input with the matching --*-stdin option.")
    if not value:
        raise CredentialsError(f"The {what} is empty; give a non-empty one.")
    return value


def _set(args: argparse.Namespace) -> int:
    from etl_assets.credentials import build_profile

    fields = {name: getattr(args, name) for name in CLEAR_OPTIONS[args.kind] if getattr(args, name) is not None}
    if args.kind == "snowflake" and args.private_key_file:
        try:
            fields["private_key"] = args.private_key_file.read_text()
        except OSError as exc:
            raise CredentialsError(f"Cannot read the private key file {args.private_key_file} ({exc.strerror}); check the path.") from None
        if args.passphrase_stdin:
            fields["private_key_passphrase"] = _read_secret("private key passphrase", True)
    else:
        fields[SECRET_NAMES[args.kind]] = _read_secret(SECRET_NAMES[args.kind].replace("_", " "), args.password_stdin)
    _vault().set(args.name, build_profile(args.kind, fields))
    print(f"profile '{args.name}' ({args.kind}) saved, its secrets encrypted")
    return 0


def _list(args: argparse.Namespace) -> int:
    summaries = _vault().summaries()
    if not summaries:
        print("no profiles; add one with `etl-assets credentials set NAME --kind snowflake --account ... --user ...`")
    for summary in summaries:
        clear = ", ".join(f"{k}={v}" for k, v in summary.fields.items())
        secrets = ", ".join(summary.secrets)
        print(f"{summary.name}  [{summary.kind}, {summary.source}]  {clear}" + (f"  (encrypted: {secrets})" if secrets else ""))
    return 0


def _test(args: argparse.Namespace) -> int:
    from etl_assets.errors import EtlAssetsError
    from etl_assets.paths import ProjectPaths
    from etl_assets.warehouse.connections import WarehouseConnections
    from etl_assets.warehouse.query import run_query

    connections = WarehouseConnections.for_home(ProjectPaths.from_env())
    if not connections.has_connection(args.name):
        raise CredentialsError(f"There is no profile '{args.name}'; `etl-assets credentials list` shows the profiles.")
    try:
        with connections.connect(args.name) as connection:
            run_query(connection, "SELECT 1")
    except EtlAssetsError as exc:
        print(f"{args.name}: failed: {exc}")
        return 1
    print(f"{args.name}: ok (connected and ran SELECT 1)")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    count = _vault().rotate()
    print(f"{count} profiles re-encrypted under the first key of ETL_ASSETS_FERNET_KEY; older keys can now be dropped")
    return 0


def _delete(args: argparse.Namespace) -> int:
    _vault().delete(args.name)
    print(f"profile '{args.name}' deleted")
    return 0


def _new_key(args: argparse.Namespace) -> int:
    from etl_assets.credentials import Vault

    print(Vault.new_key())
    return 0
