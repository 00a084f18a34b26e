"""Snowflake's sessions and transactions in fakesnow's HTTP server, and Snowflake's answer to long statements.

- Login: each login is a `Session` of the `TransactionRegistry`; the response carries its numeric `sessionId` and a
  master token, as Snowflake's does, and the session parameter LOCK_TIMEOUT applies to it.
- Logout (POST /session?delete=true, which the connector sends when it closes): the session's open transaction is
  rolled back and its DuckDB cursor closed.
- Statements: one thread at a time uses a session's DuckDB cursor; each statement passes through
  `TransactionRegistry.statement` (locks, aborts) and `answer_sql` (SHOW TRANSACTIONS, context functions); a COMMENT
  (a PII column's label), which fakesnow runs but cannot describe, is answered as Snowflake answers it.
- A statement still running after `query_in_progress_seconds` is answered "in progress" (Snowflake's code 333333)
  with a URL that the connector polls until the result is there, as Snowflake does; so a statement that waits for a
  lock, or a long COPY, outlasts the connector's socket timeout instead of being sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import json
import secrets
import uuid
from collections.abc import Callable

import duckdb
import fakesnow.server
from fakesnow.conn import FakeSnowflakeConnection
from fakesnow.cursor import FakeSnowflakeCursor
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from sqlglot import exp

from etl_assets.warehouse.emulator_statements import NO_OP, answer_sql, read_statement
from etl_assets.warehouse.emulator_transactions import Session, TransactionRegistry

QUERY_IN_PROGRESS = "333333"
DEFAULT_QUERY_IN_PROGRESS_SECONDS = 15.0
# a result nobody fetched (its client died) is dropped after this long
RESULT_KEPT_SECONDS = 600.0
DESCRIBED = "_etl_assets_described"


class EmulatorSessions:
    """fakesnow's sessions as `TransactionRegistry` sessions; `install` patches fakesnow, `app` serves it."""

    def __init__(
        self, registry: TransactionRegistry, query_in_progress_seconds: float = DEFAULT_QUERY_IN_PROGRESS_SECONDS
    ):
        self.registry = registry
        self.query_in_progress_seconds = query_in_progress_seconds
        self._by_token: dict[str, Session] = {}
        self._by_connection: dict[FakeSnowflakeConnection, Session] = {}
        self._pending: dict[str, asyncio.Future] = {}

    def install(self) -> None:
        """Route the statements of every logged-in session through the registry."""
        describe = FakeSnowflakeCursor._describe_last_sql
        FakeSnowflakeCursor.execute = self._statement_runner(FakeSnowflakeCursor.execute, describe)
        FakeSnowflakeCursor._describe_last_sql = _described_once(describe)

    def app(self) -> Starlette:
        """fakesnow's routes, with login, logout and queries wrapped, and the route clients poll for results."""
        wrapped = {
            "/session/v1/login-request": self.login_request,
            "/session": self.session_request,
            "/queries/v1/query-request": self.query_request,
        }
        routes = [
            Route(route.path, wrapped[route.path], methods=list(route.methods or ()))
            if route.path in wrapped
            else route
            for route in fakesnow.server.routes
        ]
        routes.append(Route("/queries/{query_id}/result", self.query_result, methods=["GET"]))
        return Starlette(routes=routes)

    async def login_request(self, request: Request) -> Response:
        response = await fakesnow.server.login_request(request)
        answer = json.loads(response.body)
        if not answer.get("success"):
            return response
        login = _json_body(await request.body(), request)["data"]
        token = answer["data"]["token"]
        connection = fakesnow.server.sessions[token]
        session = self.registry.open_session(
            user=str(login.get("LOGIN_NAME") or "").upper(),
            roll_back=functools.partial(_roll_back, connection),
            interrupt=connection._duck_conn.interrupt,
        )
        lock_timeout = (login.get("SESSION_PARAMETERS") or {}).get("LOCK_TIMEOUT")
        if lock_timeout is not None and not _set_lock_timeout(self.registry, session, lock_timeout):
            del fakesnow.server.sessions[token]
            return _sql_error(f"invalid value [{lock_timeout}] for parameter 'LOCK_TIMEOUT'", "001008")
        self._by_token[token] = session
        self._by_connection[connection] = session
        answer["data"]["sessionId"] = session.id
        # the connector logs out when it closes only if its login gave it a master token, as Snowflake's does
        answer["data"]["masterToken"] = secrets.token_urlsafe(32)
        return JSONResponse(answer)

    async def session_request(self, request: Request) -> Response:
        """Logout ends the session, rolling back its open transaction; a heartbeat passes through."""
        token = _token_of(request)
        if request.query_params.get("delete") and token in self._by_token:
            session = self._by_token.pop(token)
            connection = fakesnow.server.sessions.get(token)
            await run_in_threadpool(self._close, session, connection)
        return await fakesnow.server.session(request)

    async def query_request(self, request: Request) -> Response:
        # the whole body first: an "in progress" answer ends the request while the statement runs on
        await request.body()
        return await self._answer(asyncio.ensure_future(fakesnow.server.query_request(request)))

    async def query_result(self, request: Request) -> Response:
        query_id = request.path_params["query_id"]
        if (task := self._pending.get(query_id)) is None:
            return _sql_error(f"Statement {query_id} not found", "000709")
        return await self._answer(task, query_id)

    async def _answer(self, task: asyncio.Future, query_id: str | None = None) -> Response:
        done, _ = await asyncio.wait({task}, timeout=self.query_in_progress_seconds)
        if done:
            self._pending.pop(query_id or "", None)
            return task.result()
        if query_id is None:
            query_id = str(uuid.uuid4())
            self._pending[query_id] = task
            forget = functools.partial(self._pending.pop, query_id, None)
            task.add_done_callback(lambda _: asyncio.get_running_loop().call_later(RESULT_KEPT_SECONDS, forget))
        data = {"queryId": query_id, "getResultUrl": f"/queries/{query_id}/result"}
        return JSONResponse({"data": data, "code": QUERY_IN_PROGRESS, "message": None, "success": True})

    def _close(self, session: Session, connection: FakeSnowflakeConnection | None) -> None:
        self.registry.close_session(session)
        if connection is not None:
            self._by_connection.pop(connection, None)
            with session.cursor_lock:
                connection.close()

    def _statement_runner(self, execute: Callable, describe: Callable) -> Callable:
        sessions = self

        def run_statement(cursor: FakeSnowflakeCursor, command: str, params=None, *args, **kwargs):
            session = sessions._by_connection.get(cursor._conn)
            if session is None:
                return execute(cursor, command, params, *args, **kwargs)
            with session.cursor_lock:
                sessions._run(session, cursor, execute, (command, params, args, kwargs))
                if kwargs.get("server"):
                    # described now, under the lock: the server describes it later, on its event loop
                    cursor.__dict__[DESCRIBED] = describe(cursor)
            return cursor

        return run_statement

    def _run(self, session: Session, cursor: FakeSnowflakeCursor, execute: Callable, call: tuple) -> None:
        command, params, args, kwargs = call
        connection = cursor._conn
        read = read_statement(cursor._inline_variables(command), connection.database, connection.schema)
        with self.registry.statement(session, read.statement, autocommit=connection._autocommit):
            bindings = kwargs.get("binding_params") or params
            execute(cursor, answer_sql(read, session, self.registry, bindings) or command, params, *args, **kwargs)
            if isinstance(read.expression, exp.Comment):
                # COMMENT ON COLUMN runs, but DuckDB cannot describe it, as the server does next: answer as Snowflake does
                execute(cursor, NO_OP, None, *args, **kwargs)


def _described_once(describe: Callable) -> Callable:
    def _describe_last_sql(cursor: FakeSnowflakeCursor) -> list:
        described = cursor.__dict__.pop(DESCRIBED, None)
        return describe(cursor) if described is None else described

    return _describe_last_sql


def _roll_back(connection: FakeSnowflakeConnection) -> None:
    """Roll back the DuckDB transaction of a session's cursor, if it has one."""
    with contextlib.suppress(duckdb.TransactionException):
        connection._duck_conn.rollback()
    connection._in_transaction = False


def _set_lock_timeout(registry: TransactionRegistry, session: Session, value: object) -> bool:
    try:
        seconds = float(str(value))
    except ValueError:
        return False
    if seconds < 0:
        return False
    registry.set_lock_timeout(session, seconds)
    return True


def _json_body(body: bytes, request: Request) -> dict:
    return json.loads(gzip.decompress(body) if request.headers.get("Content-Encoding") == "gzip" else body)


def _token_of(request: Request) -> str | None:
    with contextlib.suppress(fakesnow.server.ServerError):
        return fakesnow.server.to_token(request)
    return None


def _sql_error(message: str, code: str) -> JSONResponse:
    return JSONResponse({"data": {"errorCode": code}, "code": code, "message": message, "success": False})
