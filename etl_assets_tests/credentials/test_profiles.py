"""Profiles: validation, connector arguments, key-pair auth as DER, and no secret in any rendering."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from etl_assets.credentials.profiles import (
    DEFAULT_BEDROCK_MODEL,
    BedrockProfile,
    S3Profile,
    SnowflakeProfile,
    build_profile,
)
from etl_assets.errors import CredentialsError
from etl_assets_tests.credentials.conftest import PASSPHRASE, PASSWORD, S3_SECRET


def renderings(profile: object) -> list[str]:
    dumped = profile.model_dump_json()  # type: ignore[attr-defined]
    return [repr(profile), str(profile), f"{profile}", dumped, repr(profile.model_dump())]  # type: ignore[attr-defined]


def test_password_profile_gives_connector_arguments(warehouse_profile: SnowflakeProfile) -> None:
    assert warehouse_profile.connection_args() == {
        "account": "acme-prod",
        "user": "loader",
        "password": PASSWORD,
        "role": "LOADER",
        "warehouse": "LOAD_WH",
        "schema": "RAW",
    }
    assert warehouse_profile.auth == "password"


def test_emulator_endpoint_fields_reach_the_connector() -> None:
    profile = SnowflakeProfile(
        account="fakesnow", user="fake", password="snow", host="127.0.0.1", port=8123, protocol="http"
    )
    args = profile.connection_args()
    assert (args["host"], args["port"], args["protocol"]) == ("127.0.0.1", 8123, "http")


def test_key_pair_profile_hands_the_connector_unencrypted_der(
    rsa_key: rsa.RSAPrivateKey, encrypted_pem: str
) -> None:
    profile = SnowflakeProfile(
        account="acme", user="loader", private_key=encrypted_pem, private_key_passphrase=PASSPHRASE
    )
    args = profile.connection_args()
    assert "password" not in args and profile.auth == "key_pair"
    der = args["private_key"]
    assert isinstance(der, bytes)
    loaded = serialization.load_der_private_key(der, password=None)
    public = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert loaded.public_key().public_bytes(*public) == rsa_key.public_key().public_bytes(*public)


def test_secrets_never_show_in_repr_str_or_json(encrypted_pem: str, warehouse_profile: SnowflakeProfile) -> None:
    key_pair = SnowflakeProfile(
        account="acme", user="loader", private_key=encrypted_pem, private_key_passphrase=PASSPHRASE
    )
    lake = S3Profile(access_key_id="AKIA", secret_access_key=S3_SECRET, session_token="session-token-value")
    secrets = [PASSWORD, PASSPHRASE, S3_SECRET, "session-token-value", encrypted_pem.splitlines()[1]]
    for profile in (warehouse_profile, key_pair, lake):
        for text in renderings(profile):
            assert not [secret for secret in secrets if secret in text], text


def test_clear_fields_hold_no_secret_and_use_the_written_names(warehouse_profile: SnowflakeProfile) -> None:
    assert warehouse_profile.clear_fields() == {
        "account": "acme-prod",
        "user": "loader",
        "role": "LOADER",
        "warehouse": "LOAD_WH",
        "schema": "RAW",
    }
    assert warehouse_profile.secret_values() == {"password": PASSWORD}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"account": "a", "user": "u"}, "give exactly one of password and private_key"),
        ({"account": "a", "user": "u", "password": PASSWORD, "private_key": "x"}, "exactly one"),
        ({"user": "u", "password": PASSWORD}, "'account' is required"),
        ({"account": "a", "user": "u", "password": PASSWORD, "pasword": PASSWORD}, "unknown field 'pasword'"),
        ({"account": "a", "user": "u", "password": PASSWORD, "port": "http"}, "'port': Input should be a valid"),
        ({"account": "a", "user": "u", "private_key": "not a key"}, "it is not a PEM private key"),
        (
            {"account": "a", "user": "u", "password": PASSWORD, "private_key_passphrase": PASSPHRASE},
            "private_key_passphrase is only used with private_key",
        ),
    ],
)
def test_invalid_snowflake_fields_are_named_without_their_values(fields: dict, expected: str) -> None:
    with pytest.raises(CredentialsError) as raised:
        build_profile("snowflake", fields)
    message = str(raised.value)
    assert message.startswith("The snowflake profile is not valid (") and expected in message
    assert PASSWORD not in message and PASSPHRASE not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_wrong_passphrase_is_reported_without_echoing_it(encrypted_pem: str) -> None:
    with pytest.raises(CredentialsError, match=r"passphrase does not open it") as raised:
        build_profile("snowflake", {"account": "a", "user": "u", "private_key": encrypted_pem,
                                    "private_key_passphrase": "guess"})
    assert "guess" not in str(raised.value)
    with pytest.raises(CredentialsError, match=r"needs private_key_passphrase"):
        build_profile("snowflake", {"account": "a", "user": "u", "private_key": encrypted_pem})


def test_an_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(CredentialsError, match=r"no profile kind 'gcs'; use one of snowflake, s3, bedrock"):
        build_profile("gcs", {})


def test_s3_profile_gives_boto3_arguments() -> None:
    profile = S3Profile(
        access_key_id="AKIA", secret_access_key=S3_SECRET, region="eu-west-1", endpoint_url="http://127.0.0.1:5000"
    )
    assert profile.client_args() == {
        "aws_access_key_id": "AKIA",
        "aws_secret_access_key": S3_SECRET,
        "region_name": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:5000",
    }
    with pytest.raises(CredentialsError, match=r"'secret_access_key' is required"):
        build_profile("s3", {"access_key_id": "AKIA"})


def test_bedrock_profile_defaults_to_nova_micro_and_takes_a_whole_access_key_or_none() -> None:
    profile = BedrockProfile(region="us-east-1")
    assert profile.model_id == DEFAULT_BEDROCK_MODEL == "amazon.nova-micro-v1:0"
    assert profile.client_args() == {"region_name": "us-east-1"}
    keyed = BedrockProfile(region="us-east-1", access_key_id="AKIA", secret_access_key=S3_SECRET)
    assert keyed.client_args()["aws_secret_access_key"] == S3_SECRET
    with pytest.raises(CredentialsError, match=r"give access_key_id and secret_access_key together, or neither"):
        build_profile("bedrock", {"region": "us-east-1", "access_key_id": "AKIA"})
