"""Run a generated script inside limits it cannot lift (docs/architecture.md §7).

A generated script is code nobody reviewed line by line (soon an LLM's), so the code policy's AST checks are only the
first fence; this module is the second, and it holds whatever the script's code does:

- its environment holds only the variables it needs (PATH, locale, time zone, DuckDB's memory limit, Dagster Pipes'
  own), so no credential, key or token of the parent reaches it; Python runs isolated (-I);
- a wall-clock time limit (the parent kills the process group), a memory limit (RLIMIT_DATA, under an address-space
  ceiling, RLIMIT_AS, for what is only reserved) and a CPU-time
  limit (RLIMIT_CPU);
- on Linux, namespaces: no network (a new, empty network namespace), a read-only file system except the output
  folders, a fresh temp working folder and the folders the caller names (a mount namespace), and no sight of other
  processes or their environment (a PID namespace with its own /proc); run as root, the script keeps no capability
  but the two that override file permissions, so it cannot remount, leave its namespaces or trace anyone.

Where the OS refuses a namespace the script still runs, and the caller logs one warning per missing fence, once.

This is the parent side (`SandboxProcess`, `run_sandboxed`): it prepares the temp folder, starts the launcher
(`sandbox_launcher.py`) in a process group of its own, enforces the wall clock and tells which limit stopped a script.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Self

from etl_assets.local_duckdb import MEMORY_LIMIT_VARIABLE

if TYPE_CHECKING:
    from etl_assets.config.models import SandboxConfig

KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", MEMORY_LIMIT_VARIABLE)
KEPT_PREFIXES = ("DAGSTER_PIPES_",)
# set by the launcher: the script's temp files (DuckDB's spill folder too) go to its own writable working folder
TEMP_VARIABLES = ("TMPDIR", "TMP", "TEMP")
DEFAULT_CPU_SECONDS = 600
# where users' homes live; each is hidden from scripts like the project's home (but for the Python they run on)
USER_HOMES = ("/root", "/home")
# a script that ignores SIGXCPU at its CPU limit is killed this much CPU time later
CPU_GRACE_SECONDS = 1
# what a failed allocation under the memory limit prints: Python's (and Arrow's) MemoryError, C++'s bad_alloc, errno ENOMEM,
# a thread whose stack found no address space
MEMORY_MARKERS = ("MemoryError", "bad_alloc", "bad allocation", "Cannot allocate memory", "can't start new thread")
# only the end of stderr is searched for them: the failure that ended the script is its last traceback
MEMORY_MARKER_WINDOW = 4_000
TAIL_BYTES = 1_000_000
INTERRUPT_GRACE_SECONDS = 20

log = logging.getLogger(__name__)


def scrubbed_environment(environ: Mapping[str, str], keep: Iterable[str] = ()) -> dict[str, str]:
    """Only the variables a generated script needs, and those the caller asks to keep."""
    kept = {*KEPT_VARIABLES, *keep}
    return {k: v for k, v in environ.items() if k in kept or k.startswith(KEPT_PREFIXES)}


# ---------------------------------------------------------------------------------------------------------------------
# The parent side: start, time, and read the end of, one sandboxed script


@dataclasses.dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed script ended; `killed_by` ("timeout", "memory", "cpu") and `message` say which limit stopped it."""

    returncode: int
    stdout: str
    stderr: str
    killed_by: str | None = None
    message: str | None = None
    # one sentence per fence the OS refused (network, files, processes); already logged once by the sandbox
    isolation_notes: tuple[str, ...] = ()


def sandbox_command(
    script: str,
    arguments: Sequence[str],
    cpu_seconds: int = DEFAULT_CPU_SECONDS,
    *,
    memory_mb: int | None = None,
    workdir: str | None = None,
    writable: Sequence[str] = (),
    keep: Sequence[str] = (),
    report_fd: int | None = None,
    hidden: Sequence[str] = (),
) -> list[str]:
    """The command that runs `script` through this sandbox with the current interpreter.

    Each `--output` value's folder is writable and each `--input` file is read-only, whatever folders the caller adds;
    each `hidden` folder looks empty to the script but for the script itself, its inputs and its output folders.
    """
    options = ["--cpu-seconds", str(cpu_seconds)]
    if memory_mb is not None:
        options += ["--memory-mb", str(memory_mb)]
    if workdir is not None:
        options += ["--workdir", os.path.realpath(workdir)]
    folders = [*writable, *(os.path.dirname(os.path.abspath(path)) for path in _values_of("--output", arguments))]
    options += [option for folder in dict.fromkeys(folders) for option in ("--writable", os.path.realpath(folder))]
    options += [option for path in _values_of("--input", arguments) for option in ("--read-only", os.path.realpath(path))]
    options += [option for name in keep for option in ("--keep", name)]
    options += [option for folder in hidden for option in ("--hide", os.path.realpath(folder))]
    if report_fd is not None:
        options += ["--report-fd", str(report_fd)]
    return [sys.executable, "-m", "etl_assets.scriptgen.sandbox_launcher", *options, "--", script, *arguments]


def private_folders(hidden: Iterable[str]) -> list[str]:
    """The folders a script must not see: the caller's (the project's home) and the users' homes, whose `.aws`,
    `.ssh` and `.config` hold credentials no script needs; a folder inside another is covered with it."""
    candidates = [*hidden, os.path.expanduser("~"), *USER_HOMES]
    folders = list(dict.fromkeys(os.path.realpath(folder) for folder in candidates if os.path.isdir(folder)))
    folders = [folder for folder in folders if folder != "/"]
    return [folder for folder in folders if not any(folder.startswith(other.rstrip("/") + "/") for other in folders if other != folder)]


def _values_of(option: str, arguments: Sequence[str]) -> list[str]:
    """The values given to `option`, as `--input IN` or `--input=IN`."""
    joined = [argument.partition("=")[2] for argument in arguments if argument.startswith(f"{option}=")]
    return [value for flag, value in itertools.pairwise(arguments) if flag == option] + joined


class SandboxProcess:
    """One sandboxed run of a script: its temp working folder, its launcher process group, and the tail of its output.

    Use it as a context manager: leaving it kills whatever of the run is left and removes the working folder, so an
    interrupted caller leaves no process and no folder behind. `wait()` enforces the wall clock.
    """

    def __init__(
        self,
        script: Path | str,
        arguments: Sequence[str],
        limits: SandboxConfig,
        *,
        label: str = "generated",
        windows: int = 1,
        env_extra: Mapping[str, str] | None = None,
        writable: Sequence[str] = (),
        hidden: Sequence[str] = (),
        capture_stdout: bool = True,
        echo_stderr: bool = False,
        cpu_seconds: int | None = None,
        logger=None,
    ):
        self.script, self.arguments, self.limits = str(script), list(arguments), limits
        self.label, self.windows = label, windows
        self.env_extra, self.writable, self.hidden = dict(env_extra or {}), list(writable), private_folders(hidden)
        self.capture_stdout, self.echo_stderr = capture_stdout, echo_stderr
        self.cpu_seconds = cpu_seconds if cpu_seconds is not None else DEFAULT_CPU_SECONDS * windows
        self.timeout_seconds = limits.timeout_seconds * windows
        self.logger = logger
        self.workdir: str | None = None
        self.process: subprocess.Popen | None = None
        self._report_read: int | None = None
        self._readers: list[_Tail] = []
        self._timed_out = False

    def __enter__(self) -> Self:
        self.workdir = tempfile.mkdtemp(prefix="etl-sandbox-")
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        self._report_read, report_write = os.pipe()
        command = sandbox_command(
            self.script, self.arguments, self.cpu_seconds, memory_mb=self.limits.memory_mb, workdir=self.workdir,
            writable=self.writable, keep=list(self.env_extra), report_fd=report_write, hidden=self.hidden,
        )  # fmt: skip
        try:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env={**scrubbed_environment(os.environ), **self.env_extra},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if self.capture_stdout else None,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=(report_write,),
            )
        finally:
            os.close(report_write)
        if self.process.stdout is not None:
            self._readers.append(_Tail(self.process.stdout))
        self._readers.append(_Tail(self.process.stderr, echo_fd=2 if self.echo_stderr else None))
        for reader in self._readers:
            reader.start()

    def wait(self) -> SandboxResult:
        """Wait for the script within its time limit, and say how it ended."""
        if not self._ended_within(self.timeout_seconds):
            self._timed_out = True
        self._reap()
        return self._result()

    def interrupt(self, grace_seconds: float = INTERRUPT_GRACE_SECONDS) -> None:
        """Ask the script to stop (SIGINT, passed on by the launcher), and kill it if it has not within the grace."""
        assert self.process is not None
        if self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGINT)  # not Popen.send_signal, which would reap an ended launcher
            self._ended_within(grace_seconds)
            self._reap()

    def __exit__(self, *exc_info) -> None:
        if self.process is not None:
            if self.process.returncode is None:
                self._reap()
            for reader in self._readers:
                reader.join(timeout=5)
        if self._report_read is not None:
            os.close(self._report_read)
            self._report_read = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _ended_within(self, seconds: float) -> bool:
        """Whether the launcher ended within `seconds`. It is left unreaped: while its pid is not free, the process
        group of that number is surely still this run's, to sweep."""
        assert self.process is not None
        deadline, delay = time.monotonic() + seconds, 0.0005
        while os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.05)
        return True

    def _reap(self) -> None:
        """Kill whatever is left of the run's process group (the launcher, the script, anything they started), then
        reap the launcher."""
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()

    def _result(self) -> SandboxResult:
        assert self.process is not None
        for reader in self._readers:
            reader.join(timeout=5)
        stdout = self._readers[0].text() if self.capture_stdout else ""
        stderr = self._readers[-1].text()
        notes = self._isolation_notes()
        warn_isolation_once(notes, self.logger)
        killed_by = limit_hit(self.process.returncode, stderr, self._timed_out)
        message = limit_message(self.label, killed_by, self.limits, self.windows, self.cpu_seconds) if killed_by else None
        return SandboxResult(self.process.returncode, stdout, stderr, killed_by, message, notes)

    def _isolation_notes(self) -> tuple[str, ...]:
        """What the launcher reported it could not fence off: one line per note, written before the script started."""
        if self._report_read is None:
            return ()
        os.set_blocking(self._report_read, False)
        try:
            data = os.read(self._report_read, 65536)
        except BlockingIOError:  # the launcher died before it could write or close its end
            data = b""
        return tuple(line for line in data.decode("utf-8", "replace").splitlines() if line)


class _Tail(threading.Thread):
    """Reads a pipe to its end, keeping its last TAIL_BYTES (a script printing gigabytes cannot fill the parent's
    memory) and copying it to `echo_fd` as it comes when asked, so the step's log still shows it."""

    def __init__(self, stream, echo_fd: int | None = None):
        super().__init__(daemon=True)
        self.stream, self.echo_fd = stream, echo_fd
        self.data = bytearray()

    def run(self) -> None:
        while chunk := self.stream.read1(65536):
            if self.echo_fd is not None:
                write_all(self.echo_fd, chunk)
            self.data += chunk
            if len(self.data) > 2 * TAIL_BYTES:
                del self.data[:-TAIL_BYTES]
        self.stream.close()

    def text(self) -> str:
        return bytes(self.data[-TAIL_BYTES:]).decode("utf-8", "replace")


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def run_sandboxed(
    script: Path,
    arguments: list[str],
    limits: SandboxConfig,
    env_extra: dict[str, str] | None = None,
    *,
    label: str = "generated",
    windows: int = 1,
    cpu_seconds: int | None = None,
    hidden: Sequence[str] = (),
) -> SandboxResult:
    """Run `script` with `arguments` in the sandbox and wait for it; its output's tail and which limit, if any, stopped it.

    `env_extra` adds variables the script may see; `label` names the script in the limit's message ("The orders
    script ..."); `windows` scales the time and CPU limits, which are per window; `hidden` folders (the project's
    home, with its vault and every other dataset's files) look empty to the script.
    """
    with SandboxProcess(
        script, arguments, limits, label=label, windows=windows, env_extra=env_extra, cpu_seconds=cpu_seconds, hidden=hidden
    ) as run:
        return run.wait()


def limit_hit(returncode: int | None, stderr: str, timed_out: bool) -> str | None:
    """Which limit stopped the script: "timeout" (the parent killed it), "cpu" (SIGXCPU, which the launcher also
    reports for a kill at the hard CPU limit), "memory" (a failed allocation, or a SIGKILL/SIGSEGV no one else sent)."""
    if timed_out:
        return "timeout"
    if returncode == -signal.SIGXCPU:
        return "cpu"
    if returncode in (-signal.SIGKILL, -signal.SIGSEGV):
        return "memory"
    if returncode and any(marker in stderr[-MEMORY_MARKER_WINDOW:] for marker in MEMORY_MARKERS):
        return "memory"
    return None


def limit_message(label: str, killed_by: str, limits: SandboxConfig, windows: int = 1, cpu_seconds: int | None = None) -> str:
    """The one sentence that names the limit a script hit, its value and what to do."""
    per_window = f", {_seconds(limits.timeout_seconds)} s for each of its {windows} windows" if windows > 1 else ""
    if killed_by == "timeout":
        return (
            f"The {label} script was stopped after its {_seconds(limits.timeout_seconds * windows)} s time limit "
            f"(transform.sandbox.timeout_seconds{per_window}); raise it or make the script faster."
        )
    if killed_by == "memory":
        return (
            f"The {label} script ran out of its {limits.memory_mb} MB memory limit (transform.sandbox.memory_mb); "
            "raise it or make the script use less memory."
        )
    cpu = cpu_seconds if cpu_seconds is not None else DEFAULT_CPU_SECONDS * windows
    per_window = f" ({DEFAULT_CPU_SECONDS} s for each of its {windows} windows)" if windows > 1 else ""
    return f"The {label} script was stopped after its {cpu} s CPU-time limit{per_window}; make the script do less work."


def _seconds(value: float) -> str:
    return f"{value:g}"


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_isolation_once(notes: Iterable[str], logger=None) -> None:
    """Log each missing fence once per process (not once per script), on `logger` (a Dagster context's log) or this
    module's."""
    with _warned_lock:
        new = [note for note in notes if note not in _warned]
        _warned.update(new)
    for note in new:
        (logger or log).warning(note)
