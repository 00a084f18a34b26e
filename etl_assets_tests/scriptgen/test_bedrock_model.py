"""The Bedrock wiring through langchain-aws' ChatBedrockConverse, on a real boto3 client with botocore's Stubber.

Bedrock itself cannot be reached from here: the Stubber answers in its place, after botocore has built and
validated the request against the service model. The unreachable case uses a real closed port on loopback.
"""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from etl_assets.config.models import LlmConfig
from etl_assets.scriptgen.llm import BedrockModel, Message, ModelUnavailable, model_for

CONVERSATION = [Message("system", "You write ETL scripts."), Message("user", "Write the script for orders.")]


def bedrock_client(endpoint_url: str | None = None):
    return boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="AKIATESTING", aws_secret_access_key="testing-secret",
        endpoint_url=endpoint_url, config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=2),
    )  # fmt: skip


def converse_reply(text: str) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19},
        "metrics": {"latencyMs": 120},
    }


def test_the_request_is_built_from_the_config_and_the_reply_parsed():
    client = bedrock_client()
    sent = []
    client.meta.events.register("before-parameter-build.bedrock-runtime.Converse", lambda params, **kwargs: sent.append(params))
    llm = LlmConfig(model="amazon.nova-micro-v1:0", region="us-east-1", temperature=0.2)
    with Stubber(client) as stubber:
        stubber.add_response("converse", converse_reply("```python\nprint(1)\n```"))
        reply = BedrockModel(llm, client=client).reply(CONVERSATION)
        stubber.assert_no_pending_responses()

    assert reply == "```python\nprint(1)\n```"
    body = sent[0]
    assert body["modelId"] == "amazon.nova-micro-v1:0"
    assert body["system"] == [{"text": "You write ETL scripts."}]
    assert body["messages"] == [{"role": "user", "content": [{"text": "Write the script for orders."}]}]
    assert body["inferenceConfig"]["temperature"] == 0.2


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("ThrottlingException", "Bedrock is throttling requests (ThrottlingException)"),
        ("AccessDeniedException", "Bedrock refused the credentials (AccessDeniedException)"),
        ("ResourceNotFoundException", "Bedrock cannot run model amazon.nova-micro-v1:0"),
    ],
)
def test_an_error_from_bedrock_becomes_one_sentence_naming_it(code, says):
    client = bedrock_client()
    with Stubber(client) as stubber:
        stubber.add_client_error("converse", service_error_code=code, service_message="secret details", http_status_code=400)
        with pytest.raises(ModelUnavailable) as raised:
            BedrockModel(LlmConfig(), client=client).reply(CONVERSATION)
    message = str(raised.value)
    assert message.startswith(says) and "secret details" not in message and "testing-secret" not in message


def test_an_unreachable_endpoint_is_a_reason_to_fall_back_not_a_crash():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens on it once the probe is closed
    client = bedrock_client(f"http://127.0.0.1:{port}")
    with pytest.raises(ModelUnavailable, match="Bedrock could not be reached"):
        BedrockModel(LlmConfig(), client=client).reply(CONVERSATION)


def test_no_credentials_anywhere_says_where_to_set_them(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    model = model_for(LlmConfig(region="us-east-1"), tmp_path)
    with pytest.raises(ModelUnavailable, match="No AWS credentials were found"):
        model.reply(CONVERSATION)


def test_the_profile_credentials_reach_the_client_and_the_config_region_wins():
    model = BedrockModel(LlmConfig(region="eu-west-1"), {"aws_access_key_id": "AKIAPROFILE", "aws_secret_access_key": "s", "region_name": "us-east-1"})
    client = model.client()
    assert client.meta.region_name == "eu-west-1"
    assert client._request_signer._credentials.access_key == "AKIAPROFILE"
