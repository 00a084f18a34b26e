"""Bedrock credentials for the script model: a vault profile, or ${SECRET:...} references resolved at run time only."""

from __future__ import annotations

import pytest

from etl_assets.config.loader import load_config
from etl_assets.config.models import LlmConfig
from etl_assets.errors import ConfigError
from etl_assets.credentials.profiles import BedrockProfile
from etl_assets.credentials.vault import Vault
from etl_assets.scriptgen.llm import BedrockModel, bedrock_client_args
from etl_assets_tests.project_config import write_project_config

SECRET = "bedrock/Secret+Key-of-the-vault"


@pytest.fixture
def vault(tmp_path) -> Vault:
    vault = Vault.for_home(tmp_path / "home", {"ETL_ASSETS_FERNET_KEY": Vault.new_key()})
    vault.set("bedrock_prod", BedrockProfile(region="eu-central-1", access_key_id="AKIAPROFILE", secret_access_key=SECRET))
    return vault


def test_a_named_profile_is_decrypted_into_the_client_arguments(vault):
    args = bedrock_client_args(LlmConfig(credentials="bedrock_prod"), vault)

    assert args == {"aws_access_key_id": "AKIAPROFILE", "aws_secret_access_key": SECRET, "region_name": "eu-central-1"}


def test_secret_references_stay_references_in_the_config_and_resolve_only_when_asked(vault):
    llm = LlmConfig(region="eu-west-1", access_key_id="AKIAINLINE", secret_access_key="${SECRET:bedrock_prod.secret_access_key}")

    assert SECRET not in repr(llm) and SECRET not in llm.model_dump_json()
    args = bedrock_client_args(llm, vault)
    assert args == {"aws_access_key_id": "AKIAINLINE", "aws_secret_access_key": SECRET}
    model = BedrockModel(llm, args)
    assert model.client()._request_signer._credentials.secret_key == SECRET
    assert SECRET not in repr(model.__dict__.get("llm"))


def test_without_credentials_the_standard_aws_chain_applies(vault):
    assert bedrock_client_args(LlmConfig(), vault) is None
    assert bedrock_client_args(LlmConfig(provider="scripted", responses_file="r.json"), vault) is None


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ("access_key_id: AKIA, secret_access_key: plain-text-secret", "must be a reference such as ${SECRET:"),
        ("credentials: bedrock_prod, access_key_id: AKIA, secret_access_key: '${SECRET:bedrock_prod.s}'", "not both"),
        ("access_key_id: AKIA", "together, or neither"),
    ],
)
def test_a_secret_written_into_the_config_or_half_a_key_is_refused_without_echoing_it(tmp_path, fields, says):
    config = write_project_config(
        tmp_path / "etl_config.yaml",
        f"""
          leads:
            source: {{path: "{tmp_path}/landing"}}
            transform: {{generator: llm, llm: {{{fields}}}}}
            load: {{table: LEADS}}
        """,
    )
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    message = str(raised.value)
    assert "transform.llm" in message and says in message and "plain-text-secret" not in message
