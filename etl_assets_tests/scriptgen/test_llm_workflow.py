"""The LangGraph script workflow with the scripted model: good code, repairs, fallback, hostile replies and the cache.

Each script really runs: the dry run in the sandbox on the window's first rows, then on the whole upload here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from etl_assets.scriptgen.generate import WindowSample, generate_script
from etl_assets.scriptgen.llm import ModelUnavailable, ScriptedModel
from etl_assets.scriptgen.template import render_template_script
from etl_assets.scriptgen.workflow import MAX_REPAIRS, ScriptRequest, build_graph, write_script
from etl_assets.scriptgen.generate import inputs_hash_of
from etl_assets_tests.scriptgen.builders import run_script
from etl_assets_tests.scriptgen.llm_replies import (
    GOOD,
    MISSING_COLUMN,
    POLICY_BREAKING,
    WRONG_COLUMN,
    profiled,
    script_with_shape,
    signups_dataset,
    signups_upload,
    write_replies,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def window(tmp_path):
    upload = signups_upload(tmp_path / "upload.parquet")
    return upload, profiled(upload)


def run_workflow(tmp_path: Path, window, replies: list[str], save: bool = True, sandbox: dict | None = None, **llm):
    upload, profile = window
    dataset = signups_dataset(write_replies(tmp_path / "replies.json", replies), sandbox, **llm)
    model = ScriptedModel(replies)
    request = ScriptRequest(
        dataset, profile, upload, tmp_path / "generated_scripts", inputs_hash_of(dataset, profile.inferred_types()), lambda: model, save=save
    )
    return write_script(request), model, dataset


def nodes_of(outcome) -> list[str]:
    return [entry["node"] for entry in outcome.nodes]


def test_good_code_on_the_first_try_is_dry_run_saved_and_logged_with_every_node(tmp_path, window):
    outcome, model, _ = run_workflow(tmp_path, window, [GOOD])

    assert len(model.received) == 1
    assert outcome.fallback_reason is None and outcome.generator == "llm scripted" and outcome.repairs == 0
    assert nodes_of(outcome) == ["init", "generate", "validate", "dry_run", "save", "finalize"]
    assert outcome.dry_run == {"rows_in": 50, "rows_out": 50, "passed": True, "problem": None}
    log = json.loads(outcome.saved.path.with_suffix(".json").read_text())
    assert log["workflow_id"] == outcome.workflow_id and log["generator"] == "llm" and log["model"] == "scripted"
    assert [entry["node"] for entry in log["nodes"]] == nodes_of(outcome)
    assert all(isinstance(entry["seconds"], float) and "outcome" in entry and "error" in entry for entry in log["nodes"])
    # the saved script is the reply's code, and it transforms the whole upload
    output = tmp_path / "out.parquet"
    completed = run_script(outcome.saved.path, window[0], output)
    assert completed.returncode == 0, completed.stderr
    table = pq.read_table(output)
    assert table.column("email").to_pylist()[0] == "user0@example.com"
    assert table.column("customer_id").to_pylist()[:2] == [1000, 1001]


def test_a_reply_breaking_the_code_policy_is_never_run_and_is_repaired_with_the_violation(tmp_path, window):
    outcome, model, _ = run_workflow(tmp_path, window, [POLICY_BREAKING, GOOD])

    assert outcome.repairs == 1 and outcome.fallback_reason is None
    assert nodes_of(outcome) == ["init", "generate", "validate", "repair", "validate", "dry_run", "save", "finalize"]
    repair_prompt = model.received[1][-1].text
    assert "line 1" in repair_prompt and "'os'" in repair_prompt
    assert "import os" not in outcome.saved.path.read_text()


@pytest.mark.parametrize("bad", [MISSING_COLUMN, WRONG_COLUMN], ids=["missing target column", "fails at run time"])
def test_a_script_failing_its_dry_run_goes_back_with_the_error_and_the_repair_is_used(tmp_path, window, bad):
    outcome, model, _ = run_workflow(tmp_path, window, [bad, GOOD])

    assert outcome.repairs == 1 and outcome.fallback_reason is None
    failed = [entry for entry in outcome.nodes if entry["node"] == "dry_run"][0]
    assert failed["outcome"] == "failed" and failed["error"]
    repair_prompt = model.received[1][-1].text
    assert ("email" in repair_prompt) if bad is MISSING_COLUMN else ("Customer Number" in repair_prompt)


def test_code_that_never_works_falls_back_to_the_template_after_two_repairs(tmp_path, window):
    outcome, model, dataset = run_workflow(tmp_path, window, [WRONG_COLUMN])

    assert len(model.received) == 1 + MAX_REPAIRS
    assert outcome.fallback_reason.startswith(f"no usable script after {MAX_REPAIRS} repairs")
    assert outcome.generator.startswith("template (fallback: ")
    assert outcome.code == render_template_script(dataset.name, dataset.transform, window[1].inferred_types())
    assert json.loads(outcome.saved.path.with_suffix(".json").read_text())["fallback_reason"] == outcome.fallback_reason


def test_a_model_that_cannot_be_reached_falls_back_at_once_with_its_reason(tmp_path, window):
    upload, profile = window
    dataset = signups_dataset(tmp_path / "absent.json")

    def unreachable():
        raise ModelUnavailable("Bedrock could not be reached (no connection to its endpoint); check the network.")

    request = ScriptRequest(dataset, profile, upload, tmp_path / "scripts", "hash", unreachable)
    outcome = write_script(request)

    assert nodes_of(outcome) == ["init", "generate", "fallback", "save", "finalize"]
    assert outcome.fallback_reason.startswith("Bedrock could not be reached")
    assert outcome.saved.generator == "template"


HOSTILE_SHAPES = {
    "os.system": ("import os\n", '    os.system("touch {marker}")\n' + "    return source"),
    "__import__": ("", '    __import__("subprocess").run(["touch", "{marker}"])\n    return source'),
    "exec": ("", '    exec("open(\'{marker}\', \'w\')")\n    return source'),
    "open elsewhere": ("", '    open("{marker}", "w").write("x")\n    return source'),
    "getattr dunder": ("", '    getattr(pq, "__builtins__")["open"]("{marker}", "w")\n    return source'),
}


@pytest.mark.parametrize("name", HOSTILE_SHAPES)
def test_a_hostile_reply_is_refused_before_it_runs_and_the_template_takes_over(tmp_path, window, name):
    marker = tmp_path / f"pwned-{name.replace(' ', '-')}"
    preamble, body = HOSTILE_SHAPES[name]
    hostile = script_with_shape(body.replace("{marker}", str(marker)), preamble)

    outcome, model, _ = run_workflow(tmp_path, window, [hostile])

    assert not marker.exists()
    assert [entry["node"] for entry in outcome.nodes].count("dry_run") == 0
    assert outcome.fallback_reason and "template" in outcome.generator
    assert len(model.received) == 1 + MAX_REPAIRS


CONTAINED_SHAPES = {
    "while True": ("    while True:\n        pass", "time limit (transform.sandbox.timeout_seconds)"),
    "10 GB": ("    hoard = bytearray(10 * 1024**3)\n    return source", "1024 MB memory limit (transform.sandbox.memory_mb)"),
}


@pytest.mark.parametrize("name", CONTAINED_SHAPES)
def test_a_reply_the_policy_lets_through_is_stopped_by_the_sandbox_in_its_dry_run(tmp_path, window, name):
    body, limit = CONTAINED_SHAPES[name]

    outcome, model, _ = run_workflow(tmp_path, window, [script_with_shape(body)], sandbox={"timeout_seconds": 3, "memory_mb": 1024})

    dry_runs = [entry for entry in outcome.nodes if entry["node"] == "dry_run"]
    assert len(dry_runs) == 1 + MAX_REPAIRS and all(limit in entry["error"] for entry in dry_runs), [entry["error"] for entry in dry_runs]
    assert outcome.fallback_reason.startswith("no usable script after 2 repairs (The dry run of the script")
    assert limit in model.received[1][-1].text  # the repair was told which limit


def test_the_harness_keeps_duckdb_to_the_inputs_so_sql_cannot_read_other_files(tmp_path, window):
    reads_passwd = script_with_shape("""    return connection.sql("SELECT * FROM read_csv('/etc/passwd')")""")

    outcome, model, _ = run_workflow(tmp_path, window, [reads_passwd])

    dry_runs = [entry for entry in outcome.nodes if entry["node"] == "dry_run"]
    assert dry_runs and all("file system operations are disabled" in entry["error"] for entry in dry_runs)
    assert outcome.fallback_reason and "root:" not in outcome.saved.path.read_text()


def test_a_script_cannot_read_other_files_of_the_project_in_its_dry_run(tmp_path, window):
    other = tmp_path / "lake" / "customers" / "uploads" / "2026-11-20.parquet"
    other.parent.mkdir(parents=True)
    pq.write_table(pq.read_table(window[0]), other)  # another dataset's rows, in the project's home
    steals = script_with_shape(f"""    return connection.from_arrow(pq.read_table({str(other)!r}))""")

    outcome, _, _ = run_workflow(tmp_path, window, [steals])

    dry_runs = [entry for entry in outcome.nodes if entry["node"] == "dry_run"]
    assert dry_runs and all("No such file" in entry["error"] or "FileNotFoundError" in entry["error"] for entry in dry_runs)
    assert outcome.fallback_reason


def test_a_dry_run_of_the_workflow_saves_nothing(tmp_path, window):
    outcome, _, _ = run_workflow(tmp_path, window, [GOOD], save=False)

    assert outcome.saved is None and nodes_of(outcome)[-2:] == ["save", "finalize"]
    assert not list((tmp_path / "generated_scripts").rglob("*.py"))


def test_the_graph_can_be_inspected_without_running_it(tmp_path, window):
    upload, profile = window
    request = ScriptRequest(signups_dataset(tmp_path / "r.json"), profile, upload, tmp_path, "h", lambda: ScriptedModel([GOOD]))
    drawn = build_graph(request).get_graph()
    edges = {(edge.source, edge.target) for edge in drawn.edges}
    assert {("__start__", "init"), ("init", "generate"), ("validate", "dry_run"), ("dry_run", "repair"), ("repair", "validate"), ("save", "finalize")} <= edges


def test_the_model_is_called_once_per_schema_and_again_for_a_new_column(tmp_path):
    replies = write_replies(tmp_path / "replies.json", [GOOD])
    dataset = signups_dataset(replies)
    model = ScriptedModel([GOOD])
    scripts = tmp_path / "generated_scripts"
    first_upload = signups_upload(tmp_path / "w1.parquet")
    second_upload = signups_upload(tmp_path / "w2.parquet", rows=20)
    wider_upload = signups_upload(tmp_path / "w3.parquet", extra_columns=("Referrer",))

    def generate(upload: Path):
        profile = profiled(upload)
        return generate_script(dataset, profile.inferred_types(), scripts, WindowSample(profile, upload, lambda: model))

    first = generate(first_upload)
    second = generate(second_upload)
    assert len(model.received) == 1 and second.reused and second.path == first.path

    wider = generate(wider_upload)
    assert len(model.received) == 2 and not wider.reused and "Referrer" in model.received[1][-1].text


def test_a_failed_model_is_remembered_per_inputs_not_asked_again_per_window(tmp_path):
    dataset = signups_dataset(tmp_path / "replies.json")
    calls = []

    def unreachable():
        calls.append(1)
        raise ModelUnavailable("Bedrock is throttling requests (ThrottlingException).")

    scripts = tmp_path / "generated_scripts"
    for day in range(5):
        upload = signups_upload(tmp_path / f"w{day}.parquet", rows=10 + day)
        profile = profiled(upload)
        saved = generate_script(dataset, profile.inferred_types(), scripts, WindowSample(profile, upload, unreachable))
        assert saved.fallback_reason.startswith("Bedrock is throttling")
    assert len(calls) == 1
