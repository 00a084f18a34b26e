"""The local Snowflake emulator: one fakesnow server per warehouse folder, started on demand and shared."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from etl_assets.errors import WarehouseError

STATE_FILE = "emulator.json"
LOCK_FILE = "emulator.lock"
LOG_FILE = "emulator.log"
SERVER_MODULE = "etl_assets.warehouse.emulator_server"
# the connector retries a failed request until network_timeout; the emulator answers at once or not at all
NETWORK_TIMEOUT_SECONDS = 30
LOGIN_TIMEOUT_SECONDS = 10
LOG_LINES_IN_ERRORS = 15


@dataclass(frozen=True)
class EmulatorInfo:
    """Where a running emulator listens."""

    host: str
    port: int
    pid: int


class LocalEmulator:
    """The fakesnow server that keeps its databases and stages under `warehouse_dir`.

    `idle_abort_seconds` and `query_in_progress_seconds` apply to a server this object starts (the server's own
    defaults otherwise); an emulator already running for the folder keeps the values it was started with.
    """

    def __init__(
        self,
        warehouse_dir: Path,
        *,
        idle_abort_seconds: float | None = None,
        query_in_progress_seconds: float | None = None,
    ):
        self.warehouse_dir = Path(warehouse_dir).resolve()
        self.idle_abort_seconds = idle_abort_seconds
        self.query_in_progress_seconds = query_in_progress_seconds

    @property
    def state_file(self) -> Path:
        return self.warehouse_dir / STATE_FILE

    @property
    def log_file(self) -> Path:
        return self.warehouse_dir / LOG_FILE

    def status(self) -> EmulatorInfo | None:
        """The running emulator, or None when none answers for this folder."""
        info = self._read_state()
        if info and process_is_alive(info.pid) and _accepts_connections(info.host, info.port):
            return info
        return None

    def ensure_running(self, timeout: float = 30) -> EmulatorInfo:
        """Reuse the running emulator or start one; concurrent callers start only one."""
        with self._locked():
            if info := self.status():
                return info
            self.state_file.unlink(missing_ok=True)
            return self._start(timeout)

    def stop(self, timeout: float = 10) -> bool:
        """Stop the emulator; False when none was running."""
        with self._locked():
            # only a live pid that also answers on its port is ours; a stale pid may have been reused
            info = self.status()
            if info is None:
                self.state_file.unlink(missing_ok=True)
                return False
            os.kill(info.pid, signal.SIGTERM)
            if not _wait_for_exit(info.pid, timeout):
                os.kill(info.pid, signal.SIGKILL)
                _wait_for_exit(info.pid, timeout)
            self.state_file.unlink(missing_ok=True)
            return True

    def connection_args(self) -> dict:
        """Keyword arguments for `snowflake.connector.connect`, starting the emulator if needed."""
        info = self.ensure_running()
        return {
            "user": "fake",
            "password": "snow",
            "account": "fakesnow",
            "host": info.host,
            "port": info.port,
            "protocol": "http",
            "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
            "network_timeout": NETWORK_TIMEOUT_SECONDS,
            "login_timeout": LOGIN_TIMEOUT_SECONDS,
        }

    def _start(self, timeout: float) -> EmulatorInfo:
        command = [
            sys.executable,
            "-m",
            SERVER_MODULE,
            "--data-dir",
            str(self.warehouse_dir),
            "--state-file",
            str(self.state_file),
        ]
        if self.idle_abort_seconds is not None:
            command += ["--idle-abort-seconds", str(self.idle_abort_seconds)]
        if self.query_in_progress_seconds is not None:
            command += ["--query-in-progress-seconds", str(self.query_in_progress_seconds)]
        with self.log_file.open("ab") as log:
            # a new session, so the server outlives the run that started it and is shared by later runs
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise WarehouseError(
                    f"The local Snowflake emulator stopped at start (exit code {process.returncode}); "
                    f"see {self.log_file}, whose last lines are:\n{self._log_tail()}"
                )
            info = self._read_state()
            if info and info.pid == process.pid:
                return info
            time.sleep(0.1)
        process.kill()
        process.wait()
        raise WarehouseError(
            f"The local Snowflake emulator did not start within {timeout:g} s; "
            f"see {self.log_file}, whose last lines are:\n{self._log_tail()}"
        )

    def _read_state(self) -> EmulatorInfo | None:
        try:
            state = json.loads(self.state_file.read_text())
            return EmulatorInfo(host=state["host"], port=int(state["port"]), pid=int(state["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-LOG_LINES_IN_ERRORS:])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.warehouse_dir.mkdir(parents=True, exist_ok=True)
        with (self.warehouse_dir / LOCK_FILE).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def process_is_alive(pid: int) -> bool:
    """True while `pid` runs; reaps it first when it is our own exited child."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_is_alive(pid):
            return True
        time.sleep(0.05)
    return not process_is_alive(pid)
