"""An S3 landing zone's credentials: a vault profile of kind s3, or ${SECRET:...} references, decrypted only when the
client is made, and never in an error message."""

from __future__ import annotations

import socket

import pytest

from etl_assets.config.models import S3Settings, SourceConfig
from etl_assets.credentials.profiles import BedrockProfile, S3Profile
from etl_assets.credentials.vault import Vault
from etl_assets.errors import CredentialsError, LandingZoneError
from etl_assets.ingest.s3_landing import S3LandingZone, s3_client_args, s3_client_for

SECRET = "s3/Secret+Key-of-the-vault"


@pytest.fixture
def vault(tmp_path) -> Vault:
    vault = Vault.for_home(tmp_path / "home", {"ETL_ASSETS_FERNET_KEY": Vault.new_key()})
    vault.set("lake", S3Profile(access_key_id="AKIAPROFILE", secret_access_key=SECRET, region="eu-west-1", endpoint_url="https://profile.example"))
    vault.set("model", BedrockProfile(region="us-east-1"))
    return vault


def test_a_vault_profile_gives_the_client_arguments_and_the_settings_override_its_endpoint_and_region(vault):
    assert s3_client_args(S3Settings(credentials="lake"), vault) == {
        "aws_access_key_id": "AKIAPROFILE",
        "aws_secret_access_key": SECRET,
        "region_name": "eu-west-1",
        "endpoint_url": "https://profile.example",
    }
    overridden = s3_client_args(S3Settings(credentials="lake", endpoint_url="http://127.0.0.1:9000", region="us-east-2"), vault)
    assert (overridden["endpoint_url"], overridden["region_name"]) == ("http://127.0.0.1:9000", "us-east-2")


def test_secret_references_resolve_through_the_vault_only_when_the_arguments_are_made(vault):
    settings = S3Settings(access_key_id="AKIAINLINE", secret_access_key="${SECRET:lake.secret_access_key}", region="eu-central-1")

    assert SECRET not in repr(settings) and SECRET not in settings.model_dump_json()
    assert s3_client_args(settings, vault) == {"aws_access_key_id": "AKIAINLINE", "aws_secret_access_key": SECRET, "region_name": "eu-central-1"}


def test_without_credentials_the_standard_aws_chain_applies(vault):
    assert s3_client_args(S3Settings(), vault) == {}
    assert s3_client_args(S3Settings(endpoint_url="http://127.0.0.1:9000"), vault) == {"endpoint_url": "http://127.0.0.1:9000"}


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (S3Settings(credentials="model"), "is of kind 'bedrock', not 's3'"),
        (S3Settings(access_key_id="AKIA", secret_access_key="${SECRET:lake.password}"), "names a field that profile 'lake' does not have set"),
    ],
)
def test_a_wrong_profile_or_reference_is_one_sentence_without_the_secret(vault, settings, says):
    with pytest.raises(CredentialsError) as raised:
        s3_client_args(settings, vault)
    assert says in str(raised.value) and SECRET not in str(raised.value)


def test_the_wrong_vault_key_says_which_variable_to_set(vault):
    wrong_key = Vault(vault.path, Vault.new_key())
    with pytest.raises(CredentialsError, match="set ETL_ASSETS_FERNET_KEY"):
        s3_client_args(S3Settings(credentials="lake"), wrong_key)


@pytest.mark.integration
def test_a_client_from_the_vault_reaches_the_bucket_and_its_errors_never_carry_the_secret(vault, s3_server):
    bucket = s3_server.new_bucket()
    s3_server.client().put_object(Bucket=bucket, Key="landing/a.csv", Body=b"id\n1\n")
    source = SourceConfig(path=f"s3://{bucket}/landing", s3=S3Settings(credentials="lake", endpoint_url=s3_server.endpoint_url))

    client = s3_client_for(source, vault)

    assert client._request_signer._credentials.secret_key == SECRET
    assert [file.name for file in S3LandingZone(source, client).list_files()] == ["a.csv"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = source.model_copy(update={"s3": S3Settings(access_key_id="AKIAINLINE", secret_access_key="${SECRET:lake.secret_access_key}", endpoint_url=closed)})
    with pytest.raises(LandingZoneError) as raised:
        S3LandingZone(unreachable, s3_client_for(unreachable, vault)).list_files()
    assert SECRET not in str(raised.value) and "AKIAINLINE" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
