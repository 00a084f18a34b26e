"""`${SECRET:profile.field}` is kept for run time only in credentials fields; anywhere else validate refuses it."""

from __future__ import annotations

import pytest

from etl_assets.config.base import StrictModel
from etl_assets.config.secrets import SecretText, secret_problems
from etl_assets.credentials import SnowflakeProfile, Vault

ADVICE = (
    "but a secret belongs only in a credentials field (of S3 or Bedrock settings), where the vault resolves it at "
    "run time; keep the credentials in a vault profile and name the profile instead, as in "
    "`warehouse: {connection: PROFILE}`."
)


class BedrockSettings(StrictModel):
    """A settings block of the kind later issues add: one credentials field beside ordinary ones."""

    region: str = "us-east-1"
    secret_key: SecretText | None = None


@pytest.fixture
def vault_key(tmp_path, monkeypatch) -> str:
    """A vault under ETL_ASSETS_HOME holding the profile `prod`."""
    key = Vault.new_key()
    monkeypatch.setenv("ETL_ASSETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ETL_ASSETS_FERNET_KEY", key)
    Vault(tmp_path / "home" / "credentials.json", key).set("prod", SnowflakeProfile(account="a", user="ana", password="pw-42"))
    return key


def test_a_secret_in_the_landing_path_is_refused(config_error, tmp_path, vault_key):
    error = config_error(
        'datasets:\n  orders: {source: {path: "' + str(tmp_path) + '/${SECRET:prod.user}"}, load: {table: ORDERS}}\n'
    )

    assert error.details == [
        f"{tmp_path / 'etl_config.yaml'}: dataset 'orders', field 'source.path': holds ${{SECRET:prod.user}}, {ADVICE}"
    ]
    assert not (tmp_path / "${SECRET:prod.user}").exists()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('datasets:\n  orders: {description: "token ${SECRET:prod.password}", source: {path: /x}, load: {table: O}}\n',
         "dataset 'orders', field 'description'"),
        ('templates: {feed: {source: {pattern: "${SECRET:prod.user}*"}}}\n'
         "datasets:\n  orders: {extends: feed, source: {path: /x}, load: {table: O}}\n",
         "dataset 'orders', field 'source.pattern'"),
        ('defaults: {warehouse: {database: "${SECRET:prod.user}"}}\n'
         "datasets:\n  orders: {source: {path: /x}, load: {table: O}}\n",
         "dataset 'orders', field 'warehouse.database'"),
        ('datasets:\n  orders: {source: {path: /x}, partitions: {cadence: "${SECRET:prod.user}"}, load: {table: O}}\n',
         "dataset 'orders', field 'partitions.cadence'"),
        ('datasets:\n  orders: {source: {path: /x}, quality: [{rule: accepted_values, column: c, values: [a, "${SECRET:prod.user}"]}], load: {table: O}}\n',
         "dataset 'orders', field 'quality[0].values[1]'"),
        ('datasets:\n  orders: {source: {path: /x}, transform: {columns: {"${SECRET:prod.user}": {from: a}}}, load: {table: O}}\n',
         "dataset 'orders', field 'transform.columns.${SECRET:prod.user}'"),
    ],
)
def test_a_secret_anywhere_but_a_credentials_field_is_refused(config_error, vault_key, text, field):
    error = config_error(text)

    assert str(error).split(": ", 1)[1] == f"{field}: holds ${{SECRET:{'prod.password' if 'password' in text else 'prod.user'}}}, {ADVICE}"


def test_a_credentials_field_keeps_the_reference_and_the_vault_resolves_it_at_run_time(vault_key):
    from etl_assets.defs.resources import CredentialsVault

    settings = BedrockSettings(region="eu-west-1", secret_key="${SECRET:prod.password}")

    assert secret_problems(settings, lambda: ["prod"]) == []
    assert settings.secret_key == "${SECRET:prod.password}", "the config never holds the secret itself"
    assert CredentialsVault(fernet_key=vault_key).resolve_secrets(settings.secret_key) == "pw-42"


def test_a_credentials_field_must_name_a_vault_profile_and_other_fields_no_secret():
    settings = BedrockSettings(region="${SECRET:prod.region}", secret_key="${SECRET:stage.password}")

    assert secret_problems(settings, lambda: ["prod"]) == [
        (("region",), f"holds ${{SECRET:prod.region}}, {ADVICE}"),
        (
            ("secret_key",),
            "uses ${SECRET:stage.password} but the credentials vault has no profile 'stage' (known: prod); "
            "add it with `etl-assets credentials set stage ...`.",
        ),
    ]


def test_the_vault_is_not_read_when_no_credentials_field_holds_a_secret():
    def unreadable() -> list[str]:
        raise AssertionError("the vault was read")

    assert secret_problems(BedrockSettings(region="eu-west-1"), unreadable) == []
