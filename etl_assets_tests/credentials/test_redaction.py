"""Redaction: secrets leave text and errors, the connector's real errors included, without losing what they mean."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import snowflake.connector
from snowflake.connector import errors as sf_errors

from etl_assets.credentials.profiles import SnowflakeProfile
from etl_assets.credentials.redaction import REDACTED, redact, scrub_exception, secrets_scrubbed
from etl_assets.errors import CredentialsError
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets.warehouse.errors import PermanentWarehouseError, TransientWarehouseError, classify

SECRET = "Sup3r'Secret\\Pw&=?"
# Quotes in a SQL literal would change the statement, so the one that goes into SQL has none.
SQL_SECRET = "Sup3rSecretPw-42"


def everything_about(exc: BaseException) -> str:
    """All a log, a UI or a traceback printer could show of an error and what it chains to."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(vars(exc)) + repr(exc.args)


@pytest.mark.parametrize(
    "form",
    [SECRET, repr(SECRET)[1:-1], json.dumps(SECRET)[1:-1], quote(SECRET, safe="")],
    ids=["plain", "repr", "json", "url"],
)
def test_redact_replaces_the_secret_as_it_is_written_anywhere(form: str) -> None:
    assert redact(f"login failed for password={form} at host", [SECRET]) == "login failed for password=*** at host"


def test_redact_handles_several_secrets_overlapping_and_empty_ones() -> None:
    text = "token abcdef123 and its prefix abc and nothing else"
    assert redact(text, ["abc", "abcdef123", ""]) == "token *** and its prefix *** and nothing else"
    assert redact("no secrets here", []) == "no secrets here"


def test_redact_hides_any_long_line_of_a_pem(encrypted_pem: str) -> None:
    line = encrypted_pem.splitlines()[3]
    assert redact(f"could not parse {line}", [encrypted_pem]) == f"could not parse {REDACTED}"


@pytest.mark.integration
def test_a_real_connector_error_that_echoes_the_secret_is_scrubbed(
    warehouse_connection: snowflake.connector.SnowflakeConnection,
) -> None:
    cursor = warehouse_connection.cursor()
    with pytest.raises(sf_errors.ProgrammingError) as raised:
        cursor.execute(f"SELEC '{SQL_SECRET}'")
    assert SQL_SECRET in str(raised.value) and SQL_SECRET in raised.value.query  # the connector does echo it

    with pytest.raises(sf_errors.ProgrammingError) as scrubbed, secrets_scrubbed([SQL_SECRET]):
        cursor.execute(f"SELEC '{SQL_SECRET}'")
    error = scrubbed.value
    assert SQL_SECRET not in everything_about(error)
    assert error.__cause__ is None and error.__context__ is None and error.__suppress_context__
    assert error.errno == 1003 and error.sqlstate == "42000"
    assert error.query == f"SELEC '{REDACTED}'"
    assert isinstance(classify(error, "The load of orders"), PermanentWarehouseError)


@pytest.mark.integration
def test_a_failed_login_keeps_its_type_and_errno_for_retry_decisions(emulator: LocalEmulator) -> None:
    args = {**emulator.connection_args(), "port": 9, "password": SECRET, "login_timeout": 2}
    profile = SnowflakeProfile(account=args["account"], user=args["user"], password=SECRET)
    with pytest.raises(sf_errors.OperationalError) as raised, secrets_scrubbed(profile.secret_values().values()):
        snowflake.connector.connect(**args)
    assert raised.value.errno == 250001
    assert isinstance(classify(raised.value, "Connecting"), TransientWarehouseError)
    assert SECRET not in everything_about(raised.value)
    assert raised.value.__context__ is None


@dataclass
class Request:
    url: str


class RequestFailed(Exception):
    """An error that carries an object whose repr holds the secret, as HTTP libraries' errors do."""

    def __init__(self, request: Request) -> None:
        super().__init__("request failed")
        self.request = request

    def __str__(self) -> str:
        return f"request failed: {self.request.url}"


def test_an_error_that_cannot_be_copied_cleanly_becomes_a_redacted_credentials_error() -> None:
    original = RequestFailed(Request(f"https://user:{SECRET}@example.com/"))
    scrubbed = scrub_exception(original, [SECRET])
    assert isinstance(scrubbed, CredentialsError)
    assert str(scrubbed) == f"RequestFailed: request failed: https://user:{REDACTED}@example.com/"


def test_errors_without_secrets_keep_their_message_and_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError) as raised, secrets_scrubbed([SECRET]):
        raise KeyError("missing")
    assert raised.value.args == ("missing",) and raised.value.__context__ is None
    with secrets_scrubbed([SECRET]):
        value = 1
    assert value == 1
    with pytest.raises(KeyboardInterrupt), secrets_scrubbed([SECRET]):
        raise KeyboardInterrupt
