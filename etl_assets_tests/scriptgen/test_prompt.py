"""What the model is told, and what it is never told unless asked: sample values of the window."""

from __future__ import annotations

import pytest

from etl_assets.scriptgen.policy import check_policy
from etl_assets.scriptgen.prompt import CONTRACT_SCAFFOLD, code_of, first_messages, repair_messages
from etl_assets_tests.scriptgen.llm_replies import GOOD, profiled, signups_dataset, signups_upload

pytestmark = pytest.mark.slow


@pytest.fixture
def profile(tmp_path):
    return profiled(signups_upload(tmp_path / "upload.parquet"))


def test_the_prompt_holds_spec_requirements_contract_and_each_columns_profile(tmp_path, profile):
    system, request = first_messages(signups_dataset(tmp_path / "r.json"), profile)

    assert system.role == "system" and "def shape(connection, source):" in system.text and "--input" in system.text
    assert "Requirements: Lower-case the emails." in request.text
    assert '"from": "Customer ID"' in request.text and '"type": "integer"' in request.text
    email = next(line for line in request.text.splitlines() if line.startswith("- 'Email'"))
    assert "nulls 0.0%" in email and "distinct 50" in email and "semantic email" in email


def test_sample_values_are_sent_only_when_the_config_shares_them(tmp_path, profile):
    _, private = first_messages(signups_dataset(tmp_path / "r.json"), profile)
    _, shared = first_messages(signups_dataset(tmp_path / "r.json", share_samples=True), profile)

    assert "Example.COM" not in private.text and "e.g." not in private.text
    assert "Example.COM" in shared.text and "e.g." in shared.text


def test_a_repair_shows_the_model_its_reply_and_what_was_wrong(tmp_path, profile):
    conversation = first_messages(signups_dataset(tmp_path / "r.json"), profile)

    repaired = repair_messages(conversation, "```python\nimport os\n```", "line 1: import of 'os' is not allowed")

    assert [message.role for message in repaired] == ["system", "user", "assistant", "user"]
    assert repaired[2].text == "```python\nimport os\n```" and "line 1: import of 'os'" in repaired[3].text


def test_the_code_is_taken_from_the_replys_python_block_or_the_whole_reply():
    assert code_of(GOOD).startswith("import argparse") and "Here is the script" not in code_of(GOOD)
    assert code_of("x = 1") == "x = 1\n"


def test_the_contract_the_model_is_given_passes_the_code_policy():
    assert check_policy(CONTRACT_SCAFFOLD) == []
