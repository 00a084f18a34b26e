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
    "hash_key": (),
}
SECRET_NAMES = {"snowflake": "password", "s3": "secret_access_key", "bedrock": "secret_access_key", "hash_key": "key"}
# what a prompt or an error calls each kind's secret
SECRET_WORDS = {"password": "password", "secret_access_key": "secret access key", "key": "hash key"}
# bytes of randomness in a key made by `--generate` (43 URL-safe characters)
GENERATED_KEY_BYTES = 32


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
    set_.add_argument("--generate", action="store_true", help="hash_key: make a random key and store it without showing it")
    set_.set_defaults(handler=_set)

    actions.add_parser("list", help="names, kinds and non-secret fields").set_defaults(handler=_list)
    test = actions.add_parser("test", help="connect and run SELECT 1 (a hash key: check that it decrypts)")
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
    if args.generate:
        fields["key"] = _generated_key(args)
    elif args.kind == "snowflake" and args.private_key_file:
        try:
            fields["private_key"] = args.private_key_file.read_text()
        except OSError as exc:
            raise CredentialsError(f"Cannot read the private key file {args.private_key_file} ({exc.strerror}); check the path.") from None
        if args.passphrase_stdin:
            fields["private_key_passphrase"] = _read_secret("private key passphrase", True)
    else:
        fields[SECRET_NAMES[args.kind]] = _read_secret(SECRET_WORDS[SECRET_NAMES[args.kind]], args.password_stdin)
    vault = _vault()
    profile = build_profile(args.kind, fields)
    if args.kind == "hash_key":
        _refuse_replacing_hash_key(vault, args.name)
    vault.set(args.name, profile)
    made = ", a new random key made and never shown" if args.generate else ""
    print(f"profile '{args.name}' ({args.kind}) saved{made}, its secrets encrypted")
    return 0


def _generated_key(args: argparse.Namespace) -> str:
    """A random hash key; it goes straight into the vault, so no one ever needs to see it."""
    import secrets

    if args.kind != "hash_key":
        raise CredentialsError(f"--generate makes hash keys only; drop it, or use --kind hash_key instead of --kind {args.kind}.")
    if args.password_stdin:
        raise CredentialsError("Give --generate or --password-stdin, not both; a hash key is either made here or read from standard input.")
    return secrets.token_urlsafe(GENERATED_KEY_BYTES)


def _refuse_replacing_hash_key(vault, name: str) -> None:
    """A new hash key gives every value a new token, so tables hashed before stop joining and cannot be erased from."""
    if any(summary.name == name and summary.kind == "hash_key" for summary in vault.summaries()):
        raise CredentialsError(
            f"Profile '{name}' already holds a hash key and a new one would give every hashed value a different token; "
            f"keep it, or delete it first with `etl-assets credentials delete {name}` if tokens may really change."
        )


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

    if _kind_of(args.name) == "hash_key":
        return _test_hash_key(args.name)
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


def _kind_of(name: str) -> str | None:
    return next((summary.kind for summary in _vault().summaries() if summary.name == name), None)


def _test_hash_key(name: str) -> int:
    """A hash key connects to nothing: the test is that it decrypts and is long enough to use."""
    from etl_assets.compliance.hashing import HashKey
    from etl_assets.errors import EtlAssetsError

    try:
        profile = _vault().get(name, kind="hash_key")
        HashKey(profile.secret_values()["key"].encode("utf-8"))
    except EtlAssetsError as exc:
        print(f"{name}: failed: {exc}")
        return 1
    print(f"{name}: ok (the hash key decrypts and is long enough to use)")
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
