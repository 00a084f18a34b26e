"""Generated scripts start with a scrubbed environment: no credential of the parent reaches them."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest

from etl_assets.scriptgen.sandbox import sandbox_command, scrubbed_environment


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
    assert completed.returncode != 0
