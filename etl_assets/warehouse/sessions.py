"""The warehouse session a load runs in, and the transactions an earlier, dead attempt left open.

A client that dies between BEGIN and COMMIT leaves its transaction detached in Snowflake, holding its locks, until
someone calls SYSTEM$ABORT_TRANSACTION or Snowflake aborts it after it has blocked another transaction while idle
for five minutes. Each load records its session in the ledger, so the next attempt of the window can abort what the
dead one left and neither fail nor wait.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection

from snowflake.connector import errors as sf_errors


def current_session(cursor) -> str:
    """The id of the session `cursor` runs in, as text."""
    cursor.execute("SELECT CURRENT_SESSION()")
    return str(cursor.fetchone()[0])


def current_transaction(cursor) -> str | None:
    """The id of the transaction open in `cursor`'s session, as text; None outside one."""
    cursor.execute("SELECT CURRENT_TRANSACTION()")
    value = cursor.fetchone()[0]
    return None if value is None else str(value)


def open_transactions(cursor) -> list[dict]:
    """SHOW TRANSACTIONS as dicts: the current user's running transactions, with `id` and `session`."""
    cursor.execute("SHOW TRANSACTIONS")
    names = [column[0].lower() for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def abort_transactions_of(cursor, sessions: Collection[str]) -> list[int]:
    """Abort every open transaction held by one of `sessions`; the ids of those aborted."""
    wanted = {str(session) for session in sessions if session}
    aborted = []
    for transaction in open_transactions(cursor) if wanted else []:
        if str(transaction["session"]) not in wanted:
            continue
        # it may have ended between SHOW and ABORT; what matters is that it no longer holds locks
        with contextlib.suppress(sf_errors.ProgrammingError):
            cursor.execute(f"SELECT SYSTEM$ABORT_TRANSACTION({int(transaction['id'])})")
            aborted.append(int(transaction["id"]))
    return aborted
