"""Run one contender as a whole process: its wall time and the peak RSS of the largest process in its tree."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.05


@dataclass
class Measured:
    """One run: seconds from start to exit, the largest process's peak MiB, what it printed, anything extra."""

    seconds: float
    peak_mib: float
    output: str
    extra: dict = field(default_factory=dict)


class ContenderFailed(RuntimeError):
    """A contender exited non-zero or ran past its time limit: the benchmark crashed, not a target missed."""


class ContenderTimedOut(ContenderFailed):
    """A contender ran past its time limit; `measured` holds what it had used when it was stopped."""

    def __init__(self, message: str, measured: Measured):
        super().__init__(message)
        self.measured = measured


def vm_hwm_mib(pid: int) -> float:
    """A live process's peak resident set (VmHWM) in MiB, 0 once it is gone."""
    for line in _proc_text(f"/proc/{pid}/status").splitlines():
        if line.startswith(b"VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _descendants(root: int) -> set[int]:
    """`root` and every process below it, from each process's parent id in /proc (psutil is not a dependency)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or not (stat := _proc_text(f"/proc/{name}/stat")):
            continue
        parent = int(stat.rsplit(b")", 1)[1].split(None, 2)[1])
        children.setdefault(parent, []).append(int(name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def _proc_text(path: str) -> bytes:
    """A /proc file's bytes, empty once its process is gone: read with bare system calls, since the harness reads
    a hundred of them every poll, on the cores the contender runs on."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return b""
    try:
        return os.read(handle, 4096)
    except OSError:
        return b""
    finally:
        os.close(handle)


def run_process(command: list[str], env: dict | None = None, timeout: float = 3600) -> Measured:
    """Run `command` to its end; its peak is the largest VmHWM of any process of its tree, polled while it runs.

    Not ru_maxrss: a child forked from this process counts this process's pages until its exec, so its
    ru_maxrss would report the harness's own size when that is larger."""
    peaks: dict[int, float] = {}
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while True:
            pid, status, _ = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            for member in _descendants(process.pid):
                peaks[member] = max(peaks.get(member, 0.0), vm_hwm_mib(member))
            if time.perf_counter() - started > timeout:
                os.killpg(process.pid, signal.SIGKILL)
                os.wait4(process.pid, 0)
                process.returncode = -9
                stopped = Measured(time.perf_counter() - started, max(peaks.values(), default=0.0), "", {"timed_out": True})
                raise ContenderTimedOut(f"{command[1:3]} ran past {timeout:g} s and was stopped", stopped)
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    peak = max(peaks.values(), default=0.0)
    if process.returncode != 0:
        raise ContenderFailed(f"{' '.join(command[:4])} exited {process.returncode}:\n{text[-3000:]}")
    return Measured(seconds, peak, text)


def alternate(
    contenders: dict[str, Callable[[], Measured]],
    runs: int,
    settled: dict[str, Callable[[dict[str, list[Measured]]], bool]] | None = None,
) -> dict[str, list[Measured]]:
    """Each contender `runs` times, in turn (A B C A B C ...), so a busy spell on the machine hits all of them.

    A contender whose `settled` test passes before one of its turns is not run again: its remaining runs are
    recorded as skipped, which median_of counts as 0 seconds, so its median stays a lower bound.
    """
    settled = settled or {}
    results: dict[str, list[Measured]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, contender in contenders.items():
            if name in settled and settled[name](results):
                results[name].append(Measured(0.0, 0.0, "", {"skipped": True, "timed_out": True}))
            else:
                results[name].append(contender())
    return results


def median_of(runs: list[Measured], attribute: str) -> float:
    """The median over the runs made; a skipped run counts as 0 seconds (a lower bound) and has no other figure.

    A peer settled by a single stopped run (runs.settled_when_stopped) skipped most of its runs, which would make
    that median 0: its time is then the run it made, a lower bound too.
    """
    if attribute == "seconds":
        median = statistics.median(run.seconds for run in runs)
        made = [run for run in runs if not run.extra.get("skipped")]
        if median == 0 and made and all(run.extra.get("timed_out") for run in made):
            return min(run.seconds for run in made)
        return median
    made = [run for run in runs if not run.extra.get("skipped")]
    return statistics.median(getattr(run, attribute) if hasattr(run, attribute) else run.extra[attribute] for run in made)


def result_line(output: str, tag: str) -> list[str]:
    """The words after `tag` on the line a contender printed to report something measured inside it."""
    for line in output.splitlines():
        if line.startswith(tag + " "):
            return line.split()[1:]
    raise ContenderFailed(f"the contender printed no {tag} line:\n{output[-2000:]}")
