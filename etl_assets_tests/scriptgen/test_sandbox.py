"""Generated scripts start with a scrubbed environment: no credential of the parent reaches them."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import textwrap

import pytest

from etl_assets.config.models import SandboxConfig
from etl_assets.scriptgen.sandbox import limit_hit, limit_message, sandbox_command, scrubbed_environment, warn_isolation_once


def test_only_needed_variables_survive():
    environ = {"PATH": "/bin", "ETL_ASSETS_FERNET_KEY": "k", "SNOWFLAKE_PASSWORD": "p", "DAGSTER_PIPES_CONTEXT": "c", "TZ": "UTC"}
    assert scrubbed_environment(environ) == {"PATH": "/bin", "DAGSTER_PIPES_CONTEXT": "c", "TZ": "UTC"}


def test_a_script_run_through_the_sandbox_sees_no_secret(tmp_path):
    script = tmp_path / "dump_env.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, os, sys
            with open(sys.argv[2], "w") as out:
                json.dump({"env": dict(os.environ), "path": sys.path, "flags_isolated": sys.flags.isolated}, out)
            """
        )
    )
    output = tmp_path / "env.json"
    env = {**os.environ, "ETL_ASSETS_FERNET_KEY": "fernet-secret", "SNOWFLAKE_PASSWORD": "hunter2", "DAGSTER_PIPES_MESSAGES": "m"}
    completed = subprocess.run(sandbox_command(str(script), ["--output", str(output)]), env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(output.read_text())
    assert "ETL_ASSETS_FERNET_KEY" not in seen["env"] and "SNOWFLAKE_PASSWORD" not in seen["env"]
    assert seen["env"]["DAGSTER_PIPES_MESSAGES"] == "m"
    assert seen["flags_isolated"] == 1
    assert "fernet-secret" not in output.read_text() and "hunter2" not in output.read_text()


@pytest.mark.slow
def test_the_cpu_limit_stops_a_runaway_script(tmp_path):
    script = tmp_path / "spin.py"
    script.write_text("while True:\n    pass\n")
    completed = subprocess.run(sandbox_command(str(script), [], cpu_seconds=1), capture_output=True, timeout=60)
    assert completed.returncode == -signal.SIGXCPU


def test_the_command_makes_output_folders_writable_and_inputs_read_only(tmp_path):
    arguments = ["--window", "a", "--input", str(tmp_path / "up" / "a.parquet"), "--output", str(tmp_path / "out" / "a.parquet")]
    arguments += ["--window", "b", "--input", str(tmp_path / "up" / "b.parquet"), "--output", str(tmp_path / "out" / "b.parquet")]

    command = sandbox_command("script.py", arguments, memory_mb=512, writable=[str(tmp_path / "pipes")])

    options = command[command.index("-m") + 2 : command.index("--")]
    pairs = list(zip(options[::2], options[1::2]))
    assert [value for flag, value in pairs if flag == "--writable"] == [str(tmp_path / "pipes"), str(tmp_path / "out")]
    assert [value for flag, value in pairs if flag == "--read-only"] == [str(tmp_path / "up" / "a.parquet"), str(tmp_path / "up" / "b.parquet")]
    assert ("--memory-mb", "512") in pairs
    assert command[command.index("--") + 1 :] == ["script.py", *arguments]


@pytest.mark.parametrize(
    ("returncode", "stderr", "timed_out", "expected"),
    [
        (-signal.SIGKILL, "", True, "timeout"),
        (-signal.SIGXCPU, "", False, "cpu"),
        (1, "Traceback (most recent call last):\n  ...\nMemoryError\n", False, "memory"),
        (1, "pyarrow.lib.ArrowMemoryError: malloc of size 1048576 failed\n", False, "memory"),
        (-signal.SIGSEGV, "", False, "memory"),
        (1, "MemoryError\n" + "x" * 10_000 + "\nValueError: bad date\n", False, None),
        (0, "MemoryError (caught and recovered)\n", False, None),
        (2, "ValueError: bad date\n", False, None),
    ],
)
def test_which_limit_stopped_a_script(returncode, stderr, timed_out, expected):
    assert limit_hit(returncode, stderr, timed_out) == expected


def test_a_range_names_its_limits_per_window():
    limits = SandboxConfig(timeout_seconds=1.5, memory_mb=1024)

    assert limit_message("orders", "timeout", limits, windows=3) == (
        "The orders script was stopped after its 4.5 s time limit (transform.sandbox.timeout_seconds, 1.5 s for each "
        "of its 3 windows); raise it or make the script faster."
    )
    assert limit_message("orders", "cpu", limits, windows=3) == (
        "The orders script was stopped after its 1800 s CPU-time limit (600 s for each of its 3 windows); "
        "make the script do less work."
    )
    assert "1024 MB memory limit" in limit_message("orders", "memory", limits, windows=3)


def test_a_missing_fence_is_logged_once(caplog):
    note = "Generated scripts can reach the network: test note (not really)."
    logger = logging.getLogger("test_sandbox")

    with caplog.at_level(logging.WARNING, logger="test_sandbox"):
        warn_isolation_once([note], logger)
        warn_isolation_once([note], logger)

    assert [record.getMessage() for record in caplog.records] == [note]
