"""Warehouse failures sorted into transient (retry later) and permanent (a person must fix something)."""

from __future__ import annotations

import contextlib
import re

from snowflake.connector import errors as sf_errors

from etl_assets.errors import WarehouseError


class TransientWarehouseError(WarehouseError):
    """The warehouse could not be reached or was busy; the same load is expected to succeed on a retry."""


class PermanentWarehouseError(WarehouseError):
    """The warehouse refused the load for a reason a retry cannot fix: credentials, grants, SQL or types."""


# connector-side failures to reach the server: could not connect, request failed, server error, timeouts
NETWORK_ERRNOS = {250001, 250002, 250003, 250005, 251011, 251012}
# server-side: statement timeout, lock wait / waiters exceeded, session token expired
BUSY_ERRNOS = {604, 625, 630, 390114}
HTTP_RETRYABLE = (
    sf_errors.InternalServerError,
    sf_errors.ServiceUnavailableError,
    sf_errors.GatewayTimeoutError,
    sf_errors.BadGatewayError,
    sf_errors.RequestTimeoutError,
    sf_errors.TooManyRequests,
    sf_errors.OtherHTTPRetryableError,
    sf_errors.RequestExceedMaxRetryError,
)
# the emulator's DuckDB refuses the second of two concurrent writers; Snowflake would make it wait
WRITE_CONFLICT = re.compile(r"TransactionContext Error: .*Conflict", re.IGNORECASE)
AUTH_ERRNOS = {390100, 390101, 390102, 390144, 390318, 251005, 251006, 251008}
PERMISSION_ERRNOS = {3001, 3003, 390201}
MISSING_OBJECT_ERRNOS = {2003, 2043}
SYNTAX_ERRNOS = {1003}
URL = re.compile(r"\w+://\S+|\bhost='[^']*'|\bport=\d+")


def is_unreachable(exc: BaseException) -> bool:
    """True when the warehouse did not answer at all, so further statements on the connection would only wait."""
    if isinstance(exc, (ConnectionError, TimeoutError, *HTTP_RETRYABLE)):
        return True
    return isinstance(exc, sf_errors.Error) and exc.errno in NETWORK_ERRNOS


def is_transient(exc: BaseException) -> bool:
    """True when `exc` says the warehouse was unreachable or busy rather than that the request was wrong."""
    if isinstance(exc, TransientWarehouseError) or is_unreachable(exc):
        return True
    if isinstance(exc, sf_errors.Error):
        return exc.errno in BUSY_ERRNOS or bool(WRITE_CONFLICT.search(exc.raw_msg or ""))
    return False


def classify(
    exc: BaseException,
    action: str,
    *,
    during: str = "",
    outcome: str = "nothing was changed",
    connection_name: str = "",
) -> WarehouseError:
    """A one-sentence TransientWarehouseError or PermanentWarehouseError for `exc`; the caller raises it from `exc`.

    The sentence reads "<action> failed[ while <during>] ...; <outcome>, so <what to do>."
    """
    if isinstance(exc, WarehouseError):
        return exc
    where = f" while {during}" if during else ""
    if is_transient(exc):
        return TransientWarehouseError(
            f"{action} failed{where} because {_transient_reason(exc)}; {outcome}, so retry once the warehouse "
            f"answers again."
        )
    return PermanentWarehouseError(
        f"{action} failed{where} ({reason_of(exc)}); {outcome}, so {_fix_for(exc, connection_name)}."
    )


def reason_of(exc: BaseException) -> str:
    """The first line of the error's own message, without URLs, hosts or ports."""
    text = getattr(exc, "raw_msg", None) or str(exc) or type(exc).__name__
    return URL.sub("…", text.strip().splitlines()[0]).rstrip(".")


def _transient_reason(exc: BaseException) -> str:
    errno = getattr(exc, "errno", None)
    if errno in (250001, 251011) or isinstance(exc, ConnectionError):
        return "the warehouse could not be reached (connection refused or timed out)"
    if errno in NETWORK_ERRNOS or isinstance(exc, HTTP_RETRYABLE):
        return "the connection to the warehouse broke off or the warehouse answered with a server error"
    if isinstance(exc, TimeoutError) or errno in BUSY_ERRNOS:
        return "the warehouse was busy or timed out"
    return f"the warehouse could not finish it ({reason_of(exc)})"


def _fix_for(exc: BaseException, connection_name: str) -> str:
    errno = getattr(exc, "errno", None)
    connection = f"warehouse connection '{connection_name}'" if connection_name else "the warehouse connection"
    if errno in AUTH_ERRNOS:
        return f"check the user and password or key of {connection} with `etl-assets credentials test`"
    if errno in PERMISSION_ERRNOS:
        return (
            f"grant the role of {connection} USAGE on the database and schema and CREATE TABLE and INSERT "
            f"on the schema"
        )
    if errno in MISSING_OBJECT_ERRNOS:
        return "check the database, schema and table names in the warehouse settings, and that the role may see them"
    if errno in SYNTAX_ERRNOS:
        return "correct the SQL statement, or report this message if etl-assets generated it"
    return "fix the cause named in the message and run it again"


def roll_back_after(cursor, exc: BaseException) -> None:
    """ROLLBACK the transaction `exc` ended early. Not when the warehouse is unreachable: no transaction is left
    there, and asking would only wait for a timeout; and a failed ROLLBACK never hides the error that caused it."""
    if not is_unreachable(exc):
        with contextlib.suppress(sf_errors.Error):
            cursor.execute("ROLLBACK")
