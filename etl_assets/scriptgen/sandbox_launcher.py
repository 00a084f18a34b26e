"""The sandbox's launcher: namespaces, limits, the script as a child, its end mirrored (docs/architecture.md §7).

    python -m etl_assets.scriptgen.sandbox_launcher [options] -- SCRIPT [--window KEY] --input IN --output OUT [...]

`sandbox.py` starts it. It enters the namespaces, forks the script as the first process of its PID namespace, sets
its limits and waits for it, so that it can mirror the script's end as its own: a script killed at the hard CPU limit
(one that ignored SIGXCPU) ends the launcher by SIGXCPU, which the parent reads as the CPU limit. It is trusted code:
it needs no Dagster, only the standard library and ctypes.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from etl_assets.scriptgen.sandbox import CPU_GRACE_SECONDS, DEFAULT_CPU_SECONDS, TEMP_VARIABLES, scrubbed_environment, write_all


RESERVED_ADDRESS_SPACE = 16 * 1024**3
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 1
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (Linux 5.12+)
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
KEPT_CAPABILITIES = (1, 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH

NETWORK_NOTE = (
    "Generated scripts can reach the network: the sandbox could not give them a network namespace ({}); "
    "only the code policy keeps them off it."
)
FILES_NOTE = (
    "Generated scripts can write outside their output folder: the sandbox could not make the file system read-only "
    "for them ({}); only the code policy keeps them from it."
)
PROCESSES_NOTE = (
    "Generated scripts can see other processes and the environment of those of their user: the sandbox could not "
    "give them a PID namespace with its own /proc ({}); only the code policy keeps them from it."
)
HIDDEN_NOTE = (
    "Generated scripts can read the project's other files (the other datasets' data, the encrypted vault) and the "
    "users' homes: the sandbox could not hide them ({}); only the code policy keeps them from it."
)
PRIVILEGES_NOTE = "Generated scripts keep root's capabilities, so they could undo the sandbox's namespaces ({})."


class _MountAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("attr_set", "attr_clr", "propagation", "userns_fd")]


class _Libc:
    """The few Linux calls Python 3.11's os module lacks, each raising OSError like the os module's own."""

    def __init__(self):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
        self.libc.syscall.restype = ctypes.c_long
        self.libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

    def unshare(self, flags: int) -> None:
        self._check(self.libc.unshare(ctypes.c_int(flags)), "unshare")

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int) -> None:
        encoded = [value.encode() if value is not None else None for value in (source, target, fstype)]
        self._check(self.libc.mount(*encoded, flags, None), f"mount {target}")

    def set_mount_attributes(self, path: str, flags: int, attr_set: int = 0, attr_clr: int = 0) -> None:
        """mount_setattr(2): change `path`'s mount (and with AT_RECURSIVE every mount below it) all at once, or none."""
        attributes = _MountAttr(attr_set=attr_set, attr_clr=attr_clr)
        result = self.libc.syscall(
            ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_long(AT_FDCWD), ctypes.c_char_p(path.encode()),
            ctypes.c_long(flags), ctypes.byref(attributes), ctypes.c_long(ctypes.sizeof(attributes)),
        )  # fmt: skip
        self._check(result, f"mount_setattr {path}")

    def prctl(self, option: int, value: int) -> None:
        self._check(self.libc.prctl(option, value, 0, 0, 0), "prctl")

    @staticmethod
    def _check(result: int, what: str) -> None:
        if result != 0:
            number = ctypes.get_errno()
            raise OSError(number, f"{what}: {os.strerror(number)}")


def main(argv: Sequence[str] | None = None) -> NoReturn:
    args = _parse(argv)
    if args.report_fd is not None:
        os.set_inheritable(args.report_fd, False)
    libc = _Libc() if sys.platform == "linux" else None
    entered, notes = _enter_namespaces(libc)
    child = os.fork()
    if child == 0:
        _run_child(args, libc, entered, notes)
    if args.report_fd is not None:
        os.close(args.report_fd)
    _supervise(child, args.cpu_seconds)


def _parse(argv: Sequence[str] | None):
    import argparse

    parser = argparse.ArgumentParser(prog="etl_assets.scriptgen.sandbox_launcher")
    parser.add_argument("--cpu-seconds", type=int, default=DEFAULT_CPU_SECONDS)
    parser.add_argument("--memory-mb", type=int, default=None)
    parser.add_argument("--workdir", default=None, help="the script's working and temp folder, writable")
    parser.add_argument("--writable", action="append", default=[], help="a folder the script may write in")
    parser.add_argument("--read-only", action="append", default=[], help="a file the script may only read")
    parser.add_argument("--keep", action="append", default=[], help="a variable the script may see")
    parser.add_argument("--report-fd", type=int, default=None, help="where to write what could not be fenced off")
    parser.add_argument("--hide", action="append", default=[], help="a folder that looks empty but for what the script uses")
    parser.add_argument("script")
    parser.add_argument("arguments", nargs=argparse.REMAINDER)
    return parser.parse_args(argv)


def _enter_namespaces(libc: _Libc | None) -> tuple[set[str], list[str]]:
    """Enter a new network, mount and PID namespace (the PID one takes effect for the child); what could not be
    entered becomes a note. Without root, a user namespace comes first, mapping the user to itself."""
    if libc is None:
        reason = f"namespaces need Linux, this is {sys.platform}"
        return set(), [note.format(reason) for note in (NETWORK_NOTE, FILES_NOTE, PROCESSES_NOTE)]
    refused = _enter_user_namespace(libc) if os.geteuid() != 0 else None
    entered, notes = set(), []
    for name, flag, note in (("network", CLONE_NEWNET, NETWORK_NOTE), ("files", CLONE_NEWNS, FILES_NOTE), ("processes", CLONE_NEWPID, PROCESSES_NOTE)):
        try:
            libc.unshare(flag)
            entered.add(name)
        except OSError as error:
            notes.append(note.format(refused or error.strerror))
    return entered, notes


def _enter_user_namespace(libc: _Libc) -> str | None:
    """None once in a user namespace where this user may make the others, else why not."""
    uid, gid = os.geteuid(), os.getegid()
    try:
        libc.unshare(CLONE_NEWUSER)
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as stream:
                stream.write(text)
    except OSError as error:
        return f"no user namespace for a user other than root: {error.strerror}"
    return None


def _run_child(args, libc: _Libc | None, entered: set[str], notes: list[str]) -> NoReturn:
    """In the forked child: fence the file system, set the limits, drop privileges, report, and become the script."""
    try:
        if libc is not None:
            notes += _fence_files(libc, args, entered)
            notes += _drop_privileges(libc)
        _set_limits(args)
        _report(args.report_fd, notes)
        if args.workdir:
            os.chdir(args.workdir)  # after the mounts: the old working folder is the read-only one beneath
        environment = _script_environment(args)
        os.execve(sys.executable, [sys.executable, "-I", args.script, *args.arguments], environment)
    except BaseException as error:  # noqa: BLE001 - the child must never return into the launcher's code
        print(f"The sandbox could not start the script: {error}", file=sys.stderr, flush=True)
    os._exit(126)


def _fence_files(libc: _Libc, args, entered: set[str]) -> list[str]:
    """Everything read-only but the working folder and the writable folders; inputs read-only even inside those;
    a /proc of the script's own PID namespace. A failure undoes the read-only step, so the script can still write."""
    notes = []
    if "files" not in entered:
        return [PROCESSES_NOTE.format("it needs a mount namespace")] if "processes" in entered else []
    try:
        libc.mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host's mounts
    except OSError as error:
        return [FILES_NOTE.format(error.strerror)] + ([PROCESSES_NOTE.format(error.strerror)] if "processes" in entered else [])
    if "processes" in entered:
        try:
            libc.mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError as error:
            notes.append(PROCESSES_NOTE.format(f"mounting /proc: {error.strerror}"))
    notes += _hide_folders(libc, args)
    try:
        libc.set_mount_attributes("/", AT_RECURSIVE, attr_set=MOUNT_ATTR_RDONLY)
    except OSError as error:
        return [*notes, FILES_NOTE.format(error)]
    try:
        for folder in [*([args.workdir] if args.workdir else []), *args.writable]:
            if os.path.isdir(folder):
                libc.mount(folder, folder, None, MS_BIND)
                libc.set_mount_attributes(folder, 0, attr_clr=MOUNT_ATTR_RDONLY)
        for path in args.read_only:
            if os.path.isfile(path):
                libc.mount(path, path, None, MS_BIND)
                libc.set_mount_attributes(path, 0, attr_set=MOUNT_ATTR_RDONLY)
    except OSError as error:
        libc.set_mount_attributes("/", AT_RECURSIVE, attr_clr=MOUNT_ATTR_RDONLY)
        notes.append(FILES_NOTE.format(error))
    return notes


def _hide_folders(libc: _Libc, args) -> list[str]:
    """Cover each --hide folder with an empty tmpfs, then bind back into it only what the script uses: the script,
    its inputs, its writable folders and its working folder. Each is opened before the cover goes on and bound from
    its descriptor, the one way to reach it once the folder above it is covered."""
    hidden = [folder for folder in args.hide if os.path.isdir(folder)]
    if not hidden:
        return []
    python = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}  # the interpreter, its libraries
    used = [args.script, *args.read_only, *args.writable, *([args.workdir] if args.workdir else []), *sorted(python)]
    kept = [path for path in dict.fromkeys(os.path.realpath(p) for p in used) if _inside_any(path, hidden) and os.path.exists(path)]
    opened = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in kept}
    try:
        for folder in hidden:
            libc.mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV)
        for path, descriptor in opened.items():
            if os.path.isdir(f"/proc/self/fd/{descriptor}"):
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "a"):
                    pass  # the mount point the file is bound onto
            libc.mount(f"/proc/self/fd/{descriptor}", path, None, MS_BIND)
    except OSError as error:
        return [HIDDEN_NOTE.format(error)]
    finally:
        for descriptor in opened.values():
            os.close(descriptor)
    return []


def _inside_any(path: str, folders: list[str]) -> bool:
    return any(path == folder or path.startswith(folder.rstrip("/") + "/") for folder in folders)


def _drop_privileges(libc: _Libc) -> list[str]:
    """No setuid gain, and for root only the file-permission capabilities across exec (a lake owned by another user
    stays writable; the read-only mounts hold anyway): none to remount, rejoin the host's namespaces or trace other
    processes with. The script dies with the launcher, so none runs on without its supervisor."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1)
    if os.geteuid() != 0:
        return []  # a user other than root loses its namespace capabilities at exec
    try:
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        for capability in set(range(last + 1)) - set(KEPT_CAPABILITIES):
            libc.prctl(PR_CAPBSET_DROP, capability)
    except (OSError, ValueError) as error:
        return [PRIVILEGES_NOTE.format(error)]
    return []


def _set_limits(args) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (args.cpu_seconds, args.cpu_seconds + CPU_GRACE_SECONDS))
    if args.memory_mb is not None:
        limit = args.memory_mb * 1024 * 1024
        # the memory the script writes to: its heap and private writable mappings (RLIMIT_DATA, Linux 4.7+)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        # and a ceiling on its address space above that, for what DuckDB and Arrow only reserve (allocator arenas,
        # thread stacks; some 1.5 GB on two cores, more with every core): a limit on reservations alone would fail
        # the same script on a bigger machine
        ceiling = limit + RESERVED_ADDRESS_SPACE
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _report(report_fd: int | None, notes: list[str]) -> None:
    """Tell the parent what could not be fenced off (or, run by hand, print it), before the script starts."""
    if report_fd is None:
        for note in notes:
            print(f"sandbox: {note}", file=sys.stderr, flush=True)
        return
    write_all(report_fd, "".join(f"{note}\n" for note in notes).encode())
    os.close(report_fd)


def _script_environment(args) -> dict[str, str]:
    environment = scrubbed_environment(os.environ, keep=args.keep)
    if args.workdir:
        environment |= dict.fromkeys(TEMP_VARIABLES, args.workdir)
    return environment


def _supervise(child: int, cpu_seconds: int) -> NoReturn:
    """Pass an interrupt on to the script, wait for it, and end the way it ended."""
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda received, _frame: _pass_on(child, received))
    _, status, usage = os.wait4(child, 0)
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        os._exit(code)
    number = -code
    if number == signal.SIGKILL and usage.ru_utime + usage.ru_stime >= cpu_seconds:
        number = signal.SIGXCPU  # the kernel's kill at the hard CPU limit, after the script ignored SIGXCPU
    _die_by(number)


def _pass_on(child: int, received: int) -> None:
    """SIGINT lets the script stop cleanly (KeyboardInterrupt); any other request to stop kills it."""
    try:
        os.kill(child, signal.SIGINT if received == signal.SIGINT else signal.SIGKILL)
    except ProcessLookupError:
        pass


def _die_by(number: int) -> NoReturn:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if number != signal.SIGKILL:
        signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
    time.sleep(1)
    os._exit(128 + number)


if __name__ == "__main__":
    main()
