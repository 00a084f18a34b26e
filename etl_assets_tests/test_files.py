"""Atomic writes: a reader sees the old file or the new one, never half, and writers never share a temp file."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from etl_assets.files import atomic_path, stale_temp_files, write_atomically
from etl_assets.lake import stage_paths
from etl_assets.paths import ProjectPaths

ROUNDS = 300
BIG = 1_000_000

# Each child imports what it needs, says it is ready, waits for the parent's go, then writes one path ROUNDS times.
READY = """
target, label, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
"""
FILE_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from etl_assets.files import write_atomically
    """
) + READY + textwrap.dedent(
    f"""
    for _ in range(rounds):
        write_atomically(target, label * {BIG})
    """
)
VERDICT_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from etl_assets.lake import QualityVerdict, stage_paths
    from etl_assets.paths import ProjectPaths
    """
) + READY + textwrap.dedent(
    """
    window = stage_paths(ProjectPaths(target), "orders", "2026-11-20")
    for _ in range(rounds):
        window.write_verdict(QualityVerdict(blocked_by=(label,), load_path=Path(label)))
    """
)
KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from etl_assets.files import atomic_path
    with atomic_path(Path(sys.argv[1])) as temporary:
        temporary.write_text("half")
        print(temporary, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


class Writers:
    """Child processes that start writing one target at the same moment."""

    def __init__(self, script: str, target: Path, labels: tuple[str, ...]) -> None:
        self.children = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(target), label, str(ROUNDS)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for label in labels
        ]

    def go(self) -> None:
        for child in self.children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        for child in self.children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()

    def running(self) -> bool:
        return any(child.poll() is None for child in self.children)

    def errors(self) -> list[str]:
        """The last line each failed child wrote to stderr (its exception); empty when every child finished well."""
        finished = [child.communicate(timeout=300) for child in self.children]
        return [err.strip().splitlines()[-1] for (_, err), child in zip(finished, self.children) if child.returncode != 0]

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.communicate()


@pytest.fixture
def writers():
    started: list[Writers] = []

    def start(script: str, target: Path, labels: tuple[str, ...]) -> Writers:
        started.append(Writers(script, target, labels))
        return started[-1]

    yield start
    for group in started:
        group.stop()


def test_a_write_replaces_the_whole_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "data.json"
    write_atomically(target, "first")
    write_atomically(target, b"second")
    assert target.read_text() == "second"
    assert [entry.name for entry in target.parent.iterdir()] == ["data.json"]


def test_linking_a_file_where_a_link_to_it_already_is_leaves_no_temp_file(tmp_path: Path) -> None:
    # renaming onto another link of the same file does nothing: the temp name would stay behind on every rerun
    source, target = tmp_path / "transformed.parquet", tmp_path / "kept.parquet"
    source.write_text("rows")
    for _ in range(2):
        with atomic_path(target) as temporary:
            temporary.unlink()
            os.link(source, temporary)
    assert os.path.samefile(source, target)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["kept.parquet", "transformed.parquet"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    write_atomically(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half of the ne")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old"
    assert [entry.name for entry in tmp_path.iterdir()] == ["data.json"]


def test_mode_is_applied_and_without_it_the_file_gets_what_a_plain_write_gives(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    write_atomically(tmp_path / "private", "x", mode=0o600, durable=True)
    write_atomically(tmp_path / "ordinary", "x")
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ordinary").stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_a_mode_wider_than_the_umask_allows_is_still_applied(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        write_atomically(tmp_path / "shared", "x", mode=0o644)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o644


def test_stale_temp_files_are_the_ones_a_killed_writer_of_that_file_leaves(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)], capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    (tmp_path / ".other.json.abc.tmp").write_text("another file's")
    assert [path.name for path in stale_temp_files(target)] == [Path(killed.stdout.strip()).name]
    assert not target.exists()


@pytest.mark.slow
def test_two_processes_writing_one_file_never_fail_and_readers_never_see_half(tmp_path: Path, writers) -> None:
    target = tmp_path / "data.txt"
    whole = {"a" * BIG, "b" * BIG}
    group = writers(FILE_WRITER, target, ("a", "b"))
    group.go()
    seen = set()
    while group.running():
        if target.exists():
            seen.add(target.read_text())
    assert group.errors() == []
    assert seen <= whole and target.read_text() in whole
    assert [entry.name for entry in tmp_path.iterdir()] == ["data.txt"]


@pytest.mark.slow
def test_two_processes_writing_a_window_verdict_both_succeed(tmp_path: Path, writers) -> None:
    group = writers(VERDICT_WRITER, tmp_path, ("a", "b"))
    group.go()
    assert group.errors() == []
    window = stage_paths(ProjectPaths(tmp_path), "orders", "2026-11-20")
    assert window.read_verdict().blocked_by in {("a",), ("b",)}
    assert [entry.name for entry in window.verdict.parent.iterdir()] == [window.verdict.name]
