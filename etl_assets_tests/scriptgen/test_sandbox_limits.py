"""Hostile scripts run straight through the sandbox, with no code policy in front: the sandbox alone contains them.

As root (and wherever the OS grants the namespaces) each fence must hold; where the OS refuses one, the sandbox must
say so in its warning instead, and the test checks that warning.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import SandboxConfig
from etl_assets.scriptgen import sandbox, sandbox_launcher
from etl_assets.scriptgen.sandbox import KEPT_VARIABLES, TEMP_VARIABLES, SandboxResult, run_sandboxed
from etl_assets.scriptgen.sandbox_launcher import FILES_NOTE, NETWORK_NOTE, PROCESSES_NOTE

SECRET = "not-for-scripts-" + uuid.uuid4().hex


def script(folder: Path, code: str) -> Path:
    path = folder / "script.py"
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def input_and_output(folder: Path) -> tuple[Path, Path]:
    """An input Parquet in a folder of its own and the output path in another, as the transform lays them out."""
    (folder / "upload").mkdir()
    (folder / "transformed").mkdir()
    source = folder / "upload" / "window.parquet"
    pq.write_table(pa.table({"n": [1, 2, 3]}), source)
    return source, folder / "transformed" / "window.parquet"


def fenced(result: SandboxResult, note: str) -> bool:
    """Whether the sandbox put up this fence; as root it must have, elsewhere its absence must have been logged."""
    prefix = note.split("(")[0]
    refused = [text for text in result.isolation_notes if text.startswith(prefix)]
    if os.geteuid() == 0:
        assert not refused, refused
    if refused:
        assert refused[0] in sandbox._warned  # logged (once per process)
    return not refused


def test_a_well_behaved_script_reads_its_input_and_writes_its_output_from_an_empty_temp_folder(tmp_path: Path) -> None:
    source, output = input_and_output(tmp_path)
    code = script(
        tmp_path,
        """
        import json, os, sys
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
        source, output = sys.argv[2], sys.argv[4]
        table = pq.read_table(source)
        pq.write_table(table.append_column("twice", pc.multiply(table["n"], 2)), output)
        print(json.dumps({"cwd": os.getcwd(), "listing": os.listdir("."), "tmpdir": os.environ.get("TMPDIR")}))
        """,
    )

    result = run_sandboxed(code, ["--input", str(source), "--output", str(output)], SandboxConfig())

    assert result.returncode == 0, result.stderr
    assert result.killed_by is None and result.message is None
    assert pq.read_table(output).to_pydict() == {"n": [1, 2, 3], "twice": [2, 4, 6]}
    seen = json.loads(result.stdout)
    assert seen["listing"] == [] and seen["tmpdir"] == seen["cwd"]
    assert not Path(seen["cwd"]).exists()
    assert not Path(seen["cwd"]).is_relative_to(tmp_path)


@pytest.mark.slow
def test_an_endless_loop_is_stopped_by_the_time_limit(tmp_path: Path) -> None:
    started = time.monotonic()

    result = run_sandboxed(script(tmp_path, "while True:\n    pass\n"), [], SandboxConfig(timeout_seconds=2), label="orders")

    assert time.monotonic() - started < 8
    assert result.killed_by == "timeout"
    assert result.message == (
        "The orders script was stopped after its 2 s time limit (transform.sandbox.timeout_seconds); "
        "raise it or make the script faster."
    )


def test_allocating_10_gb_is_stopped_by_the_memory_limit(tmp_path: Path) -> None:
    code = script(tmp_path, "b = bytearray(10 * 1024**3)\nprint('allocated')\n")

    result = run_sandboxed(code, [], SandboxConfig(memory_mb=1024), label="orders")

    assert "allocated" not in result.stdout
    assert result.returncode != 0 and result.killed_by == "memory"
    assert result.message == (
        "The orders script ran out of its 1024 MB memory limit (transform.sandbox.memory_mb); "
        "raise it or make the script use less memory."
    )


@pytest.mark.slow
def test_a_script_that_ignores_sigxcpu_is_still_stopped_by_the_cpu_limit(tmp_path: Path) -> None:
    code = script(tmp_path, "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n")

    result = run_sandboxed(code, [], SandboxConfig(timeout_seconds=30), label="orders", cpu_seconds=1)

    assert result.killed_by == "cpu"
    assert result.message == "The orders script was stopped after its 1 s CPU-time limit; make the script do less work."


def test_a_script_cannot_write_outside_its_output_folder(tmp_path: Path) -> None:
    source, output = input_and_output(tmp_path)
    targets = [source.parent / "planted.txt", Path(tempfile.gettempdir()) / f"planted-{uuid.uuid4().hex}", tmp_path / "planted.txt"]
    code = script(
        tmp_path,
        """
        import json, sys
        refused = {}
        for target in json.loads(sys.argv[5]):
            try:
                with open(target, "w") as stream:
                    stream.write("planted")
            except OSError as error:
                refused[target] = error.strerror
        with open(sys.argv[4], "w") as stream:
            stream.write("allowed")
        print(json.dumps(refused))
        """,
    )

    result = run_sandboxed(code, ["--input", str(source), "--output", str(output), json.dumps([str(t) for t in targets])], SandboxConfig())

    assert result.returncode == 0, result.stderr
    assert output.read_text() == "allowed"
    if fenced(result, FILES_NOTE):
        assert sorted(json.loads(result.stdout)) == sorted(str(target) for target in targets)
        assert not any(target.exists() for target in targets)


def test_a_script_cannot_change_its_input_even_beside_its_output(tmp_path: Path) -> None:
    source = tmp_path / "window.parquet"
    pq.write_table(pa.table({"n": [1, 2, 3]}), source)
    before = source.read_bytes()
    code = script(
        tmp_path,
        """
        import json, os, sys
        source, output = sys.argv[2], sys.argv[4]
        attempts = {
            "overwrite": lambda: open(source, "wb").write(b"gone"),
            "append": lambda: open(source, "ab").write(b"more"),
            "replace": lambda: (open(output, "wb").write(b"gone"), os.replace(output, source)),
            "remove": lambda: os.remove(source),
        }
        refused = []
        for name, attempt in attempts.items():
            try:
                attempt()
            except OSError:
                refused.append(name)
        print(json.dumps(refused))
        """,
    )

    result = run_sandboxed(code, ["--input", str(source), "--output", str(tmp_path / "out.parquet")], SandboxConfig())

    assert result.returncode == 0, result.stderr
    if fenced(result, FILES_NOTE):
        assert json.loads(result.stdout) == ["overwrite", "append", "replace", "remove"]
        assert source.read_bytes() == before


def test_a_script_cannot_connect_to_a_listener_on_the_host(tmp_path: Path) -> None:
    code = script(
        tmp_path,
        """
        import socket, sys
        try:
            socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).sendall(b"leak")
            print("connected")
        except OSError as error:
            print(f"refused: {error}")
        """,
    )
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.5)

        result = run_sandboxed(code, [str(listener.getsockname()[1])], SandboxConfig())

        if fenced(result, NETWORK_NOTE):
            assert result.stdout.startswith("refused"), result.stdout
            with pytest.raises(TimeoutError):
                listener.accept()


def test_a_script_sees_no_variable_of_its_parent_but_the_kept_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_ASSETS_FAKE_SECRET", SECRET)
    code = script(
        tmp_path,
        """
        import json, os
        with open("/proc/self/environ", "rb") as stream:
            own = stream.read().decode()
        others = {}
        for pid in (name for name in os.listdir("/proc") if name.isdigit() and int(name) != os.getpid()):
            try:
                with open(f"/proc/{pid}/environ", "rb") as stream:
                    others[pid] = stream.read().decode(errors="replace")
            except OSError:
                pass
        print(json.dumps({"environ": dict(os.environ), "proc_self": own, "others": others}))
        """,
    )

    # a process of the same user started with the secret, like the Dagster process; as root, one without capabilities,
    # whose environment a script without capabilities could otherwise read
    drop = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"] if os.geteuid() == 0 and shutil.which("setpriv") else []
    with subprocess.Popen([*drop, "sleep", "30"], env={**os.environ, "ETL_ASSETS_FAKE_SECRET": SECRET}) as neighbour:
        try:
            result = run_sandboxed(code, [], SandboxConfig(), env_extra={"DATASET_HINT": "orders"})
        finally:
            neighbour.kill()

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert set(seen["environ"]) <= {*KEPT_VARIABLES, *TEMP_VARIABLES, "DATASET_HINT"}
    assert seen["environ"]["DATASET_HINT"] == "orders"
    assert SECRET not in seen["proc_self"] and "ETL_ASSETS_FAKE_SECRET" not in seen["proc_self"]
    if fenced(result, PROCESSES_NOTE):
        assert not any(SECRET in environ for environ in seen["others"].values())


def test_nothing_the_script_started_outlives_it(tmp_path: Path) -> None:
    # a detached child that keeps the script's stdout open: alive, it would hold the run open until it ended
    code = script(tmp_path, "import subprocess\nsubprocess.Popen(['sleep', '30'], start_new_session=True)\nprint('started')\n")
    started = time.monotonic()

    result = run_sandboxed(code, [], SandboxConfig())

    assert result.returncode == 0 and result.stdout == "started\n", result.stderr
    if fenced(result, PROCESSES_NOTE):
        assert time.monotonic() - started < 4


def test_a_hidden_folder_shows_the_script_only_its_own_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "credentials.json").write_text(SECRET)
    (home / "other_dataset.parquet").write_text("another dataset's rows")
    source, output = input_and_output(home)
    code = script(home, f"""
        import os, sys
        seen = sorted(os.listdir({str(home)!r}))
        try:
            leaked = open({str(home / "credentials.json")!r}).read()
        except OSError as error:
            leaked = type(error).__name__
        rows = open(sys.argv[sys.argv.index("--input") + 1], "rb").read()[:4]
        open(sys.argv[sys.argv.index("--output") + 1], "w").write(f"{{seen}}|{{leaked}}|{{rows!r}}")
    """)

    result = run_sandboxed(code, ["--input", str(source), "--output", str(output)], SandboxConfig(), hidden=[str(home)])

    assert result.returncode == 0, result.stderr
    seen, leaked, rows = output.read_text().split("|")
    if fenced(result, sandbox_launcher.HIDDEN_NOTE):
        assert seen == "['script.py', 'transformed', 'upload']" and leaked == "FileNotFoundError"
    assert rows == "b'PAR1'"  # its own input stays readable
    assert (home / "credentials.json").read_text() == SECRET and (home / "other_dataset.parquet").exists()


def test_the_users_homes_are_hidden_but_for_the_python_the_script_runs_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "user"
    (user / ".aws").mkdir(parents=True)
    (user / ".aws" / "credentials").write_text(f"aws_secret_access_key = {SECRET}\n")
    monkeypatch.setenv("HOME", str(user))
    source, output = input_and_output(tmp_path)
    code = script(tmp_path, f"""
        import os, sys
        try:
            leaked = open({str(user / ".aws" / "credentials")!r}).read()
        except OSError as error:
            leaked = type(error).__name__
        root = sorted(os.listdir("/root")) if os.path.isdir("/root") else []
        open(sys.argv[sys.argv.index("--output") + 1], "w").write(f"{{leaked}}|{{root}}")
    """)

    result = run_sandboxed(code, ["--input", str(source), "--output", str(output)], SandboxConfig())

    assert result.returncode == 0, result.stderr
    leaked, root = output.read_text().split("|")
    if fenced(result, sandbox_launcher.HIDDEN_NOTE):
        assert leaked == "FileNotFoundError"
        # only the way to the interpreter, when it lives in /root (pyenv), is bound back into it
        python = {Path(prefix).relative_to("/root").parts[0] for prefix in (sys.base_prefix, sys.prefix) if prefix.startswith("/root/")}
        assert set(ast.literal_eval(root)) <= python
    assert SECRET in (user / ".aws" / "credentials").read_text()
