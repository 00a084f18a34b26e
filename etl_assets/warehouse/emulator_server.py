"""Entry point of the local Snowflake emulator: a fakesnow HTTP server whose data lives under our home."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import fakesnow.arrow
import fakesnow.server
import fakesnow.transforms
import fakesnow.transforms.stage
import pyarrow as pa
import pyarrow.compute as pc
import snowflake.connector.errors
import uvicorn
from fakesnow.cursor import FakeSnowflakeCursor
from fakesnow.instance import FakeSnow
from sqlglot import Expr

from etl_assets.files import write_atomically
from etl_assets.sql_text import literal
from etl_assets.warehouse.emulator_sessions import DEFAULT_QUERY_IN_PROGRESS_SECONDS, EmulatorSessions
from etl_assets.warehouse.emulator_transactions import DEFAULT_IDLE_ABORT_SECONDS, TransactionRegistry

HOST = "127.0.0.1"
DATABASES_DIR = "databases"
STAGES_DIR = "stages"
# where DuckDB writes what does not fit EMULATOR_MEMORY_LIMIT; it empties the folder on shutdown
SPILL_DIR = "spill"
EMULATOR_MEMORY_LIMIT = "1GB"
LOG_FILE = "emulator.log"
IDLE_ABORT_ENV = "ETL_ASSETS_EMULATOR_IDLE_ABORT_SECONDS"


def free_port(host: str = HOST) -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _comment_free_create(original):
    """Wrap fakesnow's table-comment extraction so a CREATE without a comment records nothing.

    Upstream fakesnow 0.12.1 bug: every CREATE TABLE with properties (e.g. the TEMPORARY table its
    MERGE emulation creates) records a comment of None in DuckDB's `_fs_global` database. Inside a
    BEGIN that already wrote to another database DuckDB refuses a second database, so MERGE within
    BEGIN/COMMIT fails with HTTP 500. Dropping the empty comment keeps the write in one database.
    """

    def extract_comment_on_table(expression: Expr) -> Expr:
        transformed = original(expression)
        table_comment = transformed.args.get("table_comment")
        if table_comment and table_comment[1] is None:
            transformed.args.pop("table_comment")
        return transformed

    return extract_comment_on_table


def _null_preserving_timestamps(original):
    """Wrap fakesnow's timestamp encoding so a NULL timestamp reads back as NULL.

    Upstream fakesnow 0.12.1 bug: the struct it sends for timestamps carries no null mask, so the
    connector reads a NULL TIMESTAMP_NTZ/TZ as 1970-01-01.
    """

    def timestamp_to_sf_struct(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
        encoded = original(ts)
        if not ts.null_count:
            return encoded
        nulls = pc.is_null(ts.combine_chunks() if isinstance(ts, pa.ChunkedArray) else ts)
        return pa.StructArray.from_arrays(encoded.flatten(), fields=list(encoded.type), mask=nulls)

    return timestamp_to_sf_struct


def _errors_as_sql_errors(original):
    """Wrap fakesnow's cursor so an error it does not translate reaches the client as an SQL error.

    fakesnow 0.12.1 answers untranslated DuckDB errors (e.g. a NOT NULL violation) with HTTP 500, which
    the connector retries until its network timeout; a statement that fails here fails the same way on
    every retry, so the client should hear about it at once.
    """

    def execute(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except snowflake.connector.errors.Error:
            raise
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise snowflake.connector.errors.ProgrammingError(msg=message, errno=100000, sqlstate="XX000") from exc

    return execute


def _merge_candidates_dropped(original):
    """Wrap fakesnow's cursor so a MERGE drops the temporary table it builds, once its counts are read.

    Upstream fakesnow 0.12.1 bug: every MERGE builds `merge_candidates` (the target's rows joined to the source's)
    and keeps it until the session ends, so the server held about 350 MB more after merging a 1M-row window.
    """

    def execute(self, command, *args, **kwargs):
        result = original(self, command, *args, **kwargs)
        if re.match(r"\s*MERGE\b", command, re.IGNORECASE):
            self._duck_conn.execute("DROP TABLE IF EXISTS temp.main.merge_candidates")
        return result

    return execute


# (where, what, wrapper): the fakesnow 0.12.1 bugs the emulator mends; each has a test in
# etl_assets_tests/warehouse/test_emulator_patches.py that fails once upstream fixes the bug, so the fix can go.
FAKESNOW_FIXES = (
    # test_upstream_merge_in_a_transaction_fails_on_an_empty_table_comment
    (fakesnow.transforms, "extract_comment_on_table", _comment_free_create),
    # test_upstream_encodes_a_null_timestamp_as_a_valid_struct
    (fakesnow.arrow, "timestamp_to_sf_struct", _null_preserving_timestamps),
    # test_upstream_keeps_each_merges_candidates_table (before the next: its errors become SQL errors too)
    (FakeSnowflakeCursor, "execute", _merge_candidates_dropped),
    # test_upstream_answers_an_untranslated_error_with_http_500 (after sessions.install: it wraps the sessions too)
    (FakeSnowflakeCursor, "execute", _errors_as_sql_errors),
)


def apply_fakesnow_fixes(set_attribute: Callable[[object, str, object], None] = setattr) -> None:
    """Wrap what FAKESNOW_FIXES names; `set_attribute` lets a test undo it (pytest's monkeypatch.setattr)."""
    for owner, name, wrapper in FAKESNOW_FIXES:
        set_attribute(owner, name, wrapper(getattr(owner, name)))


def configure_fakesnow(data_dir: Path, sessions: EmulatorSessions) -> None:
    """Point fakesnow's stages and databases at `data_dir`, give it Snowflake's transactions and patch its bugs."""
    # fakesnow creates a temp dir at import; remove it first, so nothing is left outside our home
    # (test_upstream_makes_a_stage_folder_at_import)
    shutil.rmtree(fakesnow.transforms.stage.LOCAL_BUCKET_PATH, ignore_errors=True)
    stages = data_dir / STAGES_DIR
    databases = data_dir / DATABASES_DIR
    stages.mkdir(parents=True, exist_ok=True)
    databases.mkdir(parents=True, exist_ok=True)
    fakesnow.transforms.stage.LOCAL_BUCKET_PATH = str(stages)
    sessions.install()
    apply_fakesnow_fixes()
    shared = FakeSnow(db_path=databases)
    # DuckDB's default would let the emulator take 80% of the machine on a big load; past the limit it spills
    shared.duck_conn.execute(f"SET GLOBAL memory_limit = {literal(EMULATOR_MEMORY_LIMIT)}")
    shared.duck_conn.execute(f"SET GLOBAL temp_directory = {literal(str(data_dir / SPILL_DIR))}")
    # fakesnow's logins connect through this module global (test_emulator.py::test_data_persists_across_restart)
    fakesnow.server.shared_fs = shared
    _attach_existing_databases(shared, databases)


def _attach_existing_databases(shared: FakeSnow, databases: Path) -> None:
    """Attach the databases of earlier runs so a restarted emulator sees its tables at once.

    fakesnow attaches a database file only when a session names it (test_upstream_sees_no_database_nobody_named).
    """
    for db_file in sorted(databases.glob("*.db")):
        shared.connect(database=db_file.stem).close()


def write_state(state_file: Path, state: dict) -> None:
    """Write the state file atomically, so a reader never sees half of it."""
    write_atomically(state_file, json.dumps(state, indent=2))


def _configure_logging(data_dir: Path) -> dict:
    """Send uvicorn's and fakesnow's log lines to the emulator log under `data_dir`."""
    handler = {"class": "logging.FileHandler", "filename": str(data_dir / LOG_FILE), "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {"file": handler},
        "loggers": {
            "uvicorn": {"handlers": ["file"], "level": "WARNING", "propagate": False},
            "uvicorn.error": {"handlers": ["file"], "level": "WARNING", "propagate": False},
            "uvicorn.access": {"handlers": ["file"], "level": "WARNING", "propagate": False},
            "fakesnow": {"handlers": ["file"], "level": "WARNING", "propagate": False},
            "fakesnow.server": {"handlers": ["file"], "level": "WARNING", "propagate": False},
            # transactions the emulator aborts
            "etl_assets": {"handlers": ["file"], "level": "INFO", "propagate": False},
            # fakesnow parses some statements (e.g. REMOVE) by falling back, and sqlglot warns for each
            "sqlglot": {"handlers": ["file"], "level": "ERROR", "propagate": False},
        },
    }


def serve(data_dir: Path, state_file: Path, port: int, sessions: EmulatorSessions) -> None:
    """Run the emulator until SIGTERM or SIGINT; the state file exists exactly while it serves."""
    configure_fakesnow(data_dir, sessions)
    port = port or free_port()
    config = uvicorn.Config(
        sessions.app(), host=HOST, port=port, log_level="warning", log_config=_configure_logging(data_dir)
    )
    server = uvicorn.Server(config)
    # fakesnow's own choice of DuckDB API, reported once per start; nothing a user can act on
    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")

    def request_exit(_signum: int, _frame: FrameType | None) -> None:
        server.should_exit = True

    original_startup = server.startup

    async def startup_then_publish(sockets=None) -> None:
        await original_startup(sockets=sockets)
        if server.started:
            write_state(
                state_file,
                {
                    "pid": os.getpid(),
                    "port": port,
                    "host": HOST,
                    "started_at": time.time(),
                    "data_dir": str(data_dir),
                },
            )

    # uvicorn has no hook for "listening now" (test_emulator.py::test_start_status_stop)
    server.startup = startup_then_publish
    # uvicorn re-raises a captured signal after shutdown; this handler keeps that from killing us
    # before the state file is removed (test_emulator.py::test_sigterm_stops_the_server_and_removes_its_state_file)
    signal.signal(signal.SIGTERM, request_exit)
    signal.signal(signal.SIGINT, request_exit)
    try:
        server.run()
    finally:
        state_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the local Snowflake emulator (fakesnow) on 127.0.0.1.")
    parser.add_argument("--data-dir", type=Path, required=True, help="folder for databases, stages and the log")
    parser.add_argument("--state-file", type=Path, required=True, help="JSON file written once the server listens")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument(
        "--idle-abort-seconds",
        type=_seconds,
        default=os.environ.get(IDLE_ABORT_ENV) or str(DEFAULT_IDLE_ABORT_SECONDS),
        help=f"abort a transaction idle this long that blocks another (Snowflake: 300); default ${IDLE_ABORT_ENV}",
    )
    parser.add_argument(
        "--query-in-progress-seconds",
        type=_seconds,
        default=str(DEFAULT_QUERY_IN_PROGRESS_SECONDS),
        help="answer a statement still running after this long 'in progress', for the client to poll",
    )
    args = parser.parse_args(argv)
    registry = TransactionRegistry(idle_abort_seconds=args.idle_abort_seconds)
    sessions = EmulatorSessions(registry, query_in_progress_seconds=args.query_in_progress_seconds)
    serve(args.data_dir.resolve(), args.state_file.resolve(), args.port, sessions)
    return 0


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:  # NaN too
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of seconds above 0; correct --idle-abort-seconds, "
            f"--query-in-progress-seconds or ${IDLE_ABORT_ENV}"
        )
    return seconds


if __name__ == "__main__":
    sys.exit(main())
