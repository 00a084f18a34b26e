"""What `scripts/<dataset>` shows in the UI: the code, how it was made, its checks, and the diff when it changed."""

from __future__ import annotations

import pytest

from etl_assets.defs import metadata as md
from etl_assets.scriptgen.generate import WindowSample, generate_script
from etl_assets.scriptgen.llm import ScriptedModel
from etl_assets_tests.scriptgen.llm_replies import GOOD, POLICY_BREAKING, profiled, signups_dataset, signups_upload, write_replies

pytestmark = pytest.mark.slow


def shown(saved) -> dict:
    values = md.script_metadata(saved, saved.path.read_text())
    return {key: getattr(value, "value", getattr(value, "text", getattr(value, "md_str", value))) for key, value in values.items()}


def generated(tmp_path, model, upload):
    dataset = signups_dataset(write_replies(tmp_path / "replies.json", model.replies))
    profile = profiled(upload)
    return generate_script(dataset, profile.inferred_types(), tmp_path / "scripts", WindowSample(profile, upload, lambda: model))


def test_a_models_script_shows_generator_model_checks_repairs_and_its_log(tmp_path):
    saved = generated(tmp_path, ScriptedModel([POLICY_BREAKING, GOOD]), signups_upload(tmp_path / "w1.parquet"))

    metadata = shown(saved)
    assert metadata["generator"] == "llm (scripted)" and metadata["repairs"] == 1 and metadata["reused"] is False
    assert metadata["checks"] == "- validate: 1 violation(s)\n- validate: allowed\n- dry_run: passed"
    assert metadata["code"].startswith("```python\nimport argparse") and metadata["log"].endswith(".json")
    assert metadata["inputs_hash"] == saved.inputs_hash and "diff" not in metadata


def test_a_new_script_for_a_changed_schema_shows_its_diff_against_the_one_before(tmp_path):
    model = ScriptedModel([GOOD])
    first = generated(tmp_path, model, signups_upload(tmp_path / "w1.parquet"))
    model.replies = [GOOD.replace("AS signup_date,", "AS signup_date, referrer,")]
    second = generated(tmp_path, model, signups_upload(tmp_path / "w2.parquet", extra_columns=("Referrer",)))

    diff = shown(second)["diff"]
    assert second.path != first.path and diff.startswith("```diff\n")
    assert f"--- {first.path.name}" in diff and f"+++ {second.path.name}" in diff
    assert "+        'TRY_CAST(\"Signup Date\" AS DATE) AS signup_date, referrer," in diff


def test_a_script_edited_by_hand_shows_as_pinned(tmp_path):
    model = ScriptedModel([GOOD])
    first = generated(tmp_path, model, signups_upload(tmp_path / "w1.parquet"))
    first.path.write_text(first.path.read_text() + "# tuned by hand\n")

    again = generated(tmp_path, model, signups_upload(tmp_path / "w2.parquet", rows=20))

    assert shown(again)["pinned"] is True and len(model.received) == 1
