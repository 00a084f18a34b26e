"""Snowflake's sessions, transactions and table locks for the local emulator, as Snowflake documents them.

Which Snowflake behaviour each piece reproduces (Snowflake's "Transactions" page unless another is named):

- `Session`: every session has a numeric id (CURRENT_SESSION(), the login response's sessionId). A session that
  ends with a transaction open rolls it back; a session whose client died without logging out stays, with its
  transaction *detached*: open and holding its locks.
- `Transaction`: BEGIN, or a DML statement while AUTOCOMMIT is off, opens a multi-statement transaction whose id is
  its start time in nanoseconds (CURRENT_TRANSACTION(), SHOW TRANSACTIONS); COMMIT and ROLLBACK end it, and so does
  DDL while AUTOCOMMIT is off. A DML statement outside one is its own single-statement transaction, invisible to
  SHOW TRANSACTIONS and SYSTEM$ABORT_TRANSACTION, which handle multi-statement transactions only.
- `TransactionRegistry.statement`, resource locking: a DML statement locks its target table until its transaction
  ends; a DML statement of another session on that table waits for the lock, up to the session's LOCK_TIMEOUT
  (43200 s unless set), and a wait that would close a cycle fails at once, as Snowflake's deadlock detection fails
  the most recent statement and leaves its transaction open. Reads never wait. Snowflake often lets INSERT and COPY
  run beside other writers; here every DML statement locks, the stricter of its cases, which DuckDB needs.
- Aborting transactions: a transaction that blocks another and has been idle (no statement running) for the
  idle-abort time (5 minutes on Snowflake) is aborted and rolled back by the waiting statement;
  `TransactionRegistry.abort` is SYSTEM$ABORT_TRANSACTION: it rolls back a running transaction of any session,
  alive or detached, and a statement it cuts short fails, as a cancelled query does; so does the next statement of
  a live session whose transaction another session aborted, so that it cannot go on as if it would commit.
  Not reproduced: the abort of a transaction older than 4 hours that blocks nobody.

The registry knows nothing of fakesnow: a session brings the callables that roll back or interrupt its DuckDB work,
and a lock that one thread at a time holds while it uses the session's DuckDB cursor.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from snowflake.connector.errors import ProgrammingError

DEFAULT_LOCK_TIMEOUT_SECONDS = 43200.0
DEFAULT_IDLE_ABORT_SECONDS = 300.0
ENDED_TRANSACTIONS_KEPT = 10_000
# a cancelled statement, and lock waits (Snowflake reports lock contention as 000625)
CANCELLED = (604, "57014")
LOCK_CONTENTION = (625, "57014")
DOES_NOT_EXIST = (2003, "02000")

logger = logging.getLogger(__name__)


class Kind(enum.Enum):
    """What a statement means for transactions."""

    BEGIN = "begin"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    DML = "dml"
    # commits an open transaction when AUTOCOMMIT is off (fakesnow commits before it then)
    DDL = "ddl"
    QUERY = "query"


@dataclass(frozen=True)
class Statement:
    """A statement's kind, the tables it writes (upper-cased database.schema.table) and a BEGIN's NAME."""

    kind: Kind
    tables: frozenset[str] = frozenset()
    name: str | None = None


@dataclass(eq=False)
class Session:
    """One client session; `roll_back` and `interrupt` act on its DuckDB cursor."""

    id: int
    user: str
    roll_back: Callable[[], None]
    interrupt: Callable[[], None]
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    transaction: Transaction | None = None
    running: int = 0
    idle_since: float = field(default_factory=time.monotonic)
    waiting_for: frozenset[Transaction] = frozenset()
    aborted_notice: str | None = None
    cursor_lock: threading.RLock = field(default_factory=threading.RLock)


@dataclass(eq=False)
class Transaction:
    """An open transaction and the tables it has locked; `multi_statement` is False for an autocommit DML."""

    id: int
    session: Session
    name: str
    started_on: dt.datetime
    multi_statement: bool
    tables: set[str] = field(default_factory=set)
    abort_reason: str | None = None
    aborted_by: Session | None = None


@dataclass(frozen=True)
class RunningTransaction:
    """A row of SHOW TRANSACTIONS."""

    id: int
    user: str
    session: int
    name: str
    started_on: dt.datetime
    state: str = "running"
    scope: int = 0


class TransactionRegistry:
    """Every session's transaction and table locks, behind one condition that statements wait on."""

    def __init__(self, idle_abort_seconds: float = DEFAULT_IDLE_ABORT_SECONDS):
        self.idle_abort_seconds = idle_abort_seconds
        self._changed = threading.Condition()
        self._open: dict[int, Transaction] = {}
        self._ended: OrderedDict[int, str] = OrderedDict()
        self._last_session_id = 0
        self._last_transaction_id = 0

    def open_session(self, user: str, roll_back: Callable[[], None], interrupt: Callable[[], None]) -> Session:
        """A new session with a fresh id."""
        with self._changed:
            # ids start from the clock so that they stay unique across emulator restarts
            self._last_session_id = max(time.time_ns() // 1_000_000, self._last_session_id + 1)
            return Session(self._last_session_id, user, roll_back, interrupt)

    def close_session(self, session: Session) -> None:
        """End a session: its open transaction is rolled back, as Snowflake does at the end of a session."""
        with session.cursor_lock:
            with self._changed:
                transaction = session.transaction
            if transaction is not None:
                self._roll_back(transaction, "rolled back")

    def set_lock_timeout(self, session: Session, seconds: float | None) -> None:
        """ALTER SESSION SET LOCK_TIMEOUT (None: UNSET, back to the default)."""
        session.lock_timeout = DEFAULT_LOCK_TIMEOUT_SECONDS if seconds is None else seconds

    def in_transaction(self, session: Session) -> bool:
        """True while the session has a multi-statement transaction open, in which BEGIN is ignored."""
        with self._changed:
            transaction = session.transaction
            return transaction is not None and transaction.multi_statement

    def current_transaction(self, session: Session) -> int | None:
        """CURRENT_TRANSACTION(): the session's open multi-statement transaction, or None."""
        with self._changed:
            transaction = session.transaction
            return transaction.id if transaction is not None and transaction.multi_statement else None

    def running_transactions(self, user: str | None = None) -> list[RunningTransaction]:
        """SHOW TRANSACTIONS: the open multi-statement transactions, of `user` only unless None (IN ACCOUNT)."""
        with self._changed:
            transactions = [t for t in self._open.values() if t.multi_statement]
        return [
            RunningTransaction(t.id, t.session.user, t.session.id, t.name, t.started_on)
            for t in sorted(transactions, key=lambda t: t.id)
            if user is None or t.session.user == user
        ]

    @contextlib.contextmanager
    def statement(self, session: Session, statement: Statement, autocommit: bool) -> Iterator[None]:
        """Run one statement of `session`, whose cursor lock the caller holds: locks first, bookkeeping after."""
        self._settle_abort(session, statement.kind)
        with self._changed:
            session.running += 1
        single, succeeded = None, False
        try:
            if statement.kind is Kind.DML:
                single = self._lock_tables(session, statement, autocommit)
            yield
            succeeded = True
        finally:
            self._finish(session, statement, autocommit, single, succeeded)
            # an abort during the statement is its outcome, whatever the statement did or raised
            self._settle_abort(session, statement.kind)

    def abort(self, transaction_id: int, by: Session) -> str:
        """SYSTEM$ABORT_TRANSACTION: roll back a running transaction of any session and say so."""
        with self._changed:
            transaction = self._open.get(transaction_id)
            if transaction is None or not transaction.multi_statement:
                return self._not_running(transaction_id)
            if not transaction.abort_reason:
                transaction.abort_reason = f"by SYSTEM$ABORT_TRANSACTION in session {by.id}"
                transaction.aborted_by = by
                logger.info("aborting transaction %s %s", transaction.id, transaction.abort_reason)
            busy = transaction.session is not by and transaction.session.running > 0
            self._changed.notify_all()
        if busy:
            transaction.session.interrupt()
        self._wait_until_rolled_back(transaction, by)
        with self._changed:
            if self._ended.get(transaction_id) == "aborted":
                return f"Aborted transaction id: {transaction_id}"
            return self._not_running(transaction_id)

    def _not_running(self, transaction_id: int) -> str:
        outcome = self._ended.get(transaction_id)
        if outcome is None:
            raise _error(f"Transaction {transaction_id} does not exist or not authorized.", DOES_NOT_EXIST)
        return f"Transaction id {transaction_id} was not running: it had already been {outcome}, and stays so."

    def _wait_until_rolled_back(self, transaction: Transaction, by: Session) -> None:
        while not self._try_roll_back(transaction, "aborted"):
            self._settle_abort(by, Kind.QUERY)
            with self._changed:
                if transaction.id not in self._open:
                    return
            self._pause()

    def _lock_tables(self, session: Session, statement: Statement, autocommit: bool) -> Transaction | None:
        """Wait until no other transaction holds the statement's tables, then lock them; see `_take_locks`."""
        deadline = time.monotonic() + session.lock_timeout
        while True:
            with self._changed:
                blockers = self._blockers(session, statement.tables)
                if not blockers:
                    return self._take_locks(session, statement.tables, autocommit)
                self._refuse_deadlock(session, blockers)
                stale = self._abort_idle(blockers, session)
                if not stale:
                    self._wait_or_time_out(session, blockers, deadline)
            if not all([self._try_roll_back(transaction, "aborted") for transaction in stale]):
                self._pause()  # a blocker's own thread holds its cursor for a moment; it rolls back itself
            self._settle_abort(session, Kind.DML)

    def _take_locks(self, session: Session, tables: frozenset[str], autocommit: bool) -> Transaction | None:
        """Lock `tables` in the session's transaction, opening one if needed; returns a single-statement one opened."""
        transaction = session.transaction
        if transaction is None and (tables or not autocommit):
            transaction = session.transaction = self._new_transaction(session, multi_statement=not autocommit)
        if transaction is None:
            return None
        transaction.tables.update(tables)
        return None if transaction.multi_statement else transaction

    def _blockers(self, session: Session, tables: frozenset[str]) -> list[Transaction]:
        return [t for t in self._open.values() if t.session is not session and t.tables & tables]

    def _refuse_deadlock(self, session: Session, blockers: list[Transaction]) -> None:
        """Snowflake fails the most recent statement of a deadlock; its transaction stays open."""
        own = session.transaction
        if own is None:
            return
        seen: set[Transaction] = set()
        waiting = list(blockers)
        while waiting:
            transaction = waiting.pop()
            if transaction is own:
                raise _error(
                    f"Your statement was aborted because it would deadlock with transaction {blockers[0].id} "
                    f"of session {blockers[0].session.id}; roll back transaction {own.id} or retry the statement.",
                    LOCK_CONTENTION,
                )
            seen.add(transaction)
            waiting.extend(t for t in transaction.session.waiting_for if t not in seen)

    def _abort_idle(self, blockers: list[Transaction], waiter: Session) -> list[Transaction]:
        """Mark blockers idle for the idle-abort time as aborted; returns the aborted blockers that are idle."""
        now = time.monotonic()
        for transaction in blockers:
            idle = now - transaction.session.idle_since
            if transaction.session.running == 0 and idle >= self.idle_abort_seconds and not transaction.abort_reason:
                transaction.abort_reason = f"idle for {idle:.0f} s while it blocked session {waiter.id}"
                transaction.aborted_by = waiter
                logger.warning("aborting transaction %s: %s", transaction.id, transaction.abort_reason)
        return [t for t in blockers if t.abort_reason and t.session.running == 0]

    def _wait_or_time_out(self, session: Session, blockers: list[Transaction], deadline: float) -> None:
        now = time.monotonic()
        if now >= deadline:
            first = blockers[0]
            raise _error(
                f"Table '{sorted(first.tables)[0]}' is locked by transaction {first.id} of session "
                f"{first.session.id}, and your statement was aborted after waiting the LOCK_TIMEOUT of "
                f"{session.lock_timeout:g} seconds; retry it once that transaction ends.",
                LOCK_CONTENTION,
            )
        idle_ends = [
            t.session.idle_since + self.idle_abort_seconds for t in blockers if t.session.running == 0
        ]
        session.waiting_for = frozenset(blockers)
        try:
            self._changed.wait(max(min([deadline, *idle_ends]) - now, 0.01))
        finally:
            session.waiting_for = frozenset()

    def _pause(self) -> None:
        """Wait for a change, or briefly: the owner of a busy cursor does not always announce that it let go."""
        with self._changed:
            self._changed.wait(0.05)

    def _finish(
        self, session: Session, statement: Statement, autocommit: bool, single: Transaction | None, succeeded: bool
    ) -> None:
        with self._changed:
            session.running -= 1
            session.idle_since = time.monotonic()
            transaction = session.transaction
            if single is not None:
                self._end(single, "committed" if succeeded else "rolled back")
            elif statement.kind is Kind.BEGIN and succeeded and transaction is None:
                session.transaction = self._new_transaction(session, multi_statement=True, name=statement.name)
            elif transaction is not None and self._ends_transaction(statement.kind, autocommit, succeeded):
                committed = statement.kind is not Kind.ROLLBACK and succeeded
                self._end(transaction, "committed" if committed else "rolled back")
            self._changed.notify_all()

    @staticmethod
    def _ends_transaction(kind: Kind, autocommit: bool, succeeded: bool) -> bool:
        # a failed COMMIT rolls back; a DDL that failed may have failed before fakesnow's implicit commit
        return kind in (Kind.COMMIT, Kind.ROLLBACK) or (kind is Kind.DDL and not autocommit and succeeded)

    def _settle_abort(self, session: Session, kind: Kind) -> None:
        """Roll back the session's aborted transaction and fail the statement, once; a ROLLBACK just succeeds."""
        with self._changed:
            transaction = session.transaction
        if transaction is not None and transaction.abort_reason:
            self._try_roll_back(transaction, "aborted")
        with self._changed:
            notice, session.aborted_notice = session.aborted_notice, None
        if notice and kind is not Kind.ROLLBACK:
            raise _error(notice, CANCELLED)

    def _try_roll_back(self, transaction: Transaction, outcome: str) -> bool:
        """Roll back unless another thread uses the session's cursor; True once the transaction has ended."""
        session = transaction.session
        if not session.cursor_lock.acquire(blocking=False):
            return False
        try:
            self._roll_back(transaction, outcome)
        finally:
            session.cursor_lock.release()
        return True

    def _roll_back(self, transaction: Transaction, outcome: str) -> None:
        with self._changed:
            if transaction.id not in self._open:
                return
        transaction.session.roll_back()
        with self._changed:
            if transaction.aborted_by not in (None, transaction.session):
                transaction.session.aborted_notice = (
                    f"Transaction {transaction.id} was aborted ({transaction.abort_reason}) and its changes were "
                    "rolled back, so this statement was cancelled; run the work again in a new transaction."
                )
            self._end(transaction, outcome)

    def _new_transaction(self, session: Session, multi_statement: bool, name: str | None = None) -> Transaction:
        self._last_transaction_id = max(time.time_ns() // 1_000_000 * 1_000_000, self._last_transaction_id + 1)
        transaction = Transaction(
            id=self._last_transaction_id,
            session=session,
            name=name or str(uuid.uuid4()),
            started_on=dt.datetime.now(dt.UTC),
            multi_statement=multi_statement,
        )
        self._open[transaction.id] = transaction
        return transaction

    def _end(self, transaction: Transaction, outcome: str) -> None:
        self._open.pop(transaction.id, None)
        if transaction.session.transaction is transaction:
            transaction.session.transaction = None
        self._ended[transaction.id] = outcome
        while len(self._ended) > ENDED_TRANSACTIONS_KEPT:
            self._ended.popitem(last=False)
        self._changed.notify_all()


def _error(message: str, code: tuple[int, str]) -> ProgrammingError:
    errno, sqlstate = code
    return ProgrammingError(msg=message, errno=errno, sqlstate=sqlstate)
