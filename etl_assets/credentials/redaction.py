"""Secrets out of messages: redact text, and re-raise errors (the connector's too) with every secret replaced."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus

from etl_assets.errors import CredentialsError

REDACTED = "***"
# A line of a multi-line secret (a PEM) this long is a secret of its own; shorter lines ("-----END...") are not.
SHORTEST_SECRET_LINE = 16


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by ***, also as it appears quoted, escaped or URL-encoded."""
    for form in sorted(_forms(secrets), key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def _forms(secrets: Iterable[str]) -> set[str]:
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms.update({secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)})
        forms.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= SHORTEST_SECRET_LINE)
    return forms


def scrub_exception(exc: BaseException, secrets: Iterable[str]) -> BaseException:
    """A copy of `exc`, of the same type and attributes (errno, sqlstate...) where it can be, without any secret.

    The copy has no cause, context or traceback: they lead back to the original, whose arguments and frames hold
    the secrets. An error that cannot be copied cleanly becomes a CredentialsError with the redacted message.
    """
    present = [secret for secret in secrets if secret]
    copy = _scrubbed_copy(exc, present)
    if copy is None or _leaks(copy, present):
        return CredentialsError(redact(f"{type(exc).__name__}: {exc}", present))
    copy.__suppress_context__ = True
    return copy


def _scrubbed_copy(exc: BaseException, secrets: list[str]) -> BaseException | None:
    # __new__ rather than copy.copy: the connector's errors send telemetry from __init__.
    try:
        copy = type(exc).__new__(type(exc))
        copy.args = tuple(_scrubbed(value, secrets) for value in exc.args)
        copy.__dict__.update({name: _scrubbed(value, secrets) for name, value in vars(exc).items()})
    except (TypeError, AttributeError):
        return None
    return copy


def _scrubbed(value: Any, secrets: list[str]) -> Any:
    """`value` with secrets redacted from its text; other objects are dropped, as their repr may hold a secret."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, (bool, int, float, enum.Enum)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_scrubbed(item, secrets) for item in value)
    if isinstance(value, dict):
        return {_scrubbed(key, secrets): _scrubbed(item, secrets) for key, item in value.items()}
    return None


def _leaks(exc: BaseException, secrets: list[str]) -> bool:
    try:
        texts = [str(exc), repr(exc)]
    except Exception:
        return True
    return any(redact(text, secrets) != text for text in texts)


class _SecretsScrubbed:
    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = [secret for secret in secrets if secret]

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if not isinstance(exc, Exception):
            return False
        scrubbed = scrub_exception(exc, self._secrets)
        try:
            raise scrubbed
        except BaseException as raised:
            # Raising inside __exit__ chains the original as __context__; cut that link, it holds the secrets.
            raised.__context__ = None
            raise


def secrets_scrubbed(secrets: Iterable[str]) -> _SecretsScrubbed:
    """A `with` block whose errors are re-raised by `scrub_exception`: same type, secrets replaced by ***, unchained."""
    return _SecretsScrubbed(secrets)
