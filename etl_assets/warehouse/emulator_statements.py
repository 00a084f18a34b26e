"""What a SQL statement means for the emulator's transactions, and SQL for the answers fakesnow does not give.

- `read_statement`: the statement's `Kind` and, for DML (INSERT, UPDATE, DELETE, MERGE, COPY INTO, TRUNCATE), the
  tables it writes, which Snowflake locks until the transaction ends.
- `answer_sql`: SQL that fakesnow can run in place of what Snowflake answers itself, or None to run the statement:
  - BEGIN [WORK | TRANSACTION] [NAME n] and START TRANSACTION: a BEGIN inside a transaction is ignored, as
    Snowflake does (fakesnow's server refuses START TRANSACTION NAME n before the emulator sees it);
  - SHOW TRANSACTIONS [IN ACCOUNT]: the running transactions, with Snowflake's columns;
  - CURRENT_SESSION(), CURRENT_TRANSACTION() (text, NULL outside a transaction) in a SELECT or UPDATE, and
    SYSTEM$ABORT_TRANSACTION(id), which answers 'Aborted transaction id: <id>';
  - ALTER SESSION SET | UNSET LOCK_TIMEOUT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fakesnow.dialect import parse_one
from snowflake.connector.errors import ProgrammingError
from sqlglot import Expr, exp

from etl_assets.warehouse.emulator_transactions import Kind, Session, Statement, TransactionRegistry

LEADING_COMMENTS = r"^\s*(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*"
BEGIN = re.compile(
    LEADING_COMMENTS + r"(?:BEGIN|START)(?:\s+(?:WORK|TRANSACTION))?(?:\s+NAME\s+(\"[^\"]+\"|\w+))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
SHOW_TRANSACTIONS = re.compile(
    LEADING_COMMENTS + r"SHOW\s+TRANSACTIONS(\s+IN\s+ACCOUNT)?\s*;?\s*$", re.IGNORECASE | re.DOTALL
)
DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Copy, exp.TruncateTable)
NO_OP = "SELECT 'Statement executed successfully.' AS \"status\""
ABORT_FUNCTION = "SYSTEM$ABORT_TRANSACTION"
SHOW_TRANSACTIONS_COLUMNS = {
    "id": "BIGINT",
    "user": "VARCHAR",
    "session": "BIGINT",
    "name": "VARCHAR",
    "started_on": "TIMESTAMP_TZ",
    "state": "VARCHAR",
    "scope": "BIGINT",
}


@dataclass(frozen=True)
class ReadStatement:
    """A statement as the emulator understands it: its meaning for transactions and its syntax tree, if any."""

    statement: Statement
    expression: Expr | None = None
    show_transactions_in_account: bool | None = None


def read_statement(command: str, database: str | None, schema: str | None) -> ReadStatement:
    """Classify `command`; a statement that does not parse is a QUERY, and fakesnow reports its syntax error."""
    if begin := BEGIN.match(command):
        return ReadStatement(Statement(Kind.BEGIN, name=(begin[1] or "").strip('"') or None))
    if show := SHOW_TRANSACTIONS.match(command):
        return ReadStatement(Statement(Kind.QUERY), show_transactions_in_account=bool(show[1]))
    try:
        expression = parse_one(command)
    except ProgrammingError:
        return ReadStatement(Statement(Kind.QUERY))
    return ReadStatement(_statement_of(expression, database, schema), expression)


def _statement_of(expression: Expr, database: str | None, schema: str | None) -> Statement:
    if isinstance(expression, exp.Transaction):
        return Statement(Kind.BEGIN)
    if isinstance(expression, exp.Commit):
        return Statement(Kind.COMMIT)
    if isinstance(expression, exp.Rollback):
        return Statement(Kind.ROLLBACK)
    if isinstance(expression, DML):
        return Statement(Kind.DML, _written_tables(expression, database, schema))
    return Statement(Kind.DDL if _commits_when_not_autocommit(expression) else Kind.QUERY)


def _commits_when_not_autocommit(expression: Expr) -> bool:
    """The statements fakesnow commits an open transaction before, as Snowflake does before DDL."""
    if isinstance(expression, exp.Alter) and expression.args.get("kind") == "SESSION":
        return _session_parameter(expression) == "AUTOCOMMIT"
    if isinstance(expression, exp.Create) and expression.args.get("kind") == "FILE FORMAT":
        return False
    return isinstance(expression, (exp.Alter, exp.Comment, exp.Create, exp.Drop))


def _written_tables(expression: Expr, database: str | None, schema: str | None) -> frozenset[str]:
    """Upper-cased DATABASE.SCHEMA.TABLE names, since DuckDB's names are case-insensitive."""
    targets = expression.expressions if isinstance(expression, exp.TruncateTable) else [expression.this]
    names = set()
    for target in targets:
        table = target.this if isinstance(target, exp.Schema) else target
        # COPY INTO @stage unloads to a stage: no table is written
        if isinstance(table, exp.Table) and isinstance(table.this, exp.Identifier):
            parts = (table.catalog or database or "", table.db or schema or "", table.name)
            names.add(".".join(part.upper() for part in parts))
    return frozenset(names)


def _session_parameter(expression: Expr) -> str | None:
    """The one parameter an ALTER SESSION SET | UNSET names, upper-cased."""
    alter = expression.find(exp.AlterSession)
    items = alter.expressions if alter else []
    if len(items) != 1 or not (identifier := items[0].find(exp.Identifier)):
        return None
    return identifier.name.upper()


def answer_sql(
    read: ReadStatement, session: Session, registry: TransactionRegistry, params: Sequence | Mapping | None
) -> str | None:
    """SQL to run in place of the statement, carrying out what Snowflake does itself; None runs it unchanged."""
    if read.show_transactions_in_account is not None:
        user = None if read.show_transactions_in_account else session.user
        return show_transactions_sql(registry, user)
    if read.statement.kind is Kind.BEGIN:
        return NO_OP if registry.in_transaction(session) else "BEGIN TRANSACTION"
    expression = read.expression
    if isinstance(expression, exp.Alter) and _session_parameter(expression) == "LOCK_TIMEOUT":
        registry.set_lock_timeout(session, _lock_timeout(expression))
        return NO_OP
    if isinstance(expression, (exp.Select, exp.Update)) and _uses_context_functions(expression):
        return _with_context_values(expression, session, registry, params).sql(dialect="snowflake")
    return None


def show_transactions_sql(registry: TransactionRegistry, user: str | None) -> str:
    """A SELECT whose rows and columns are SHOW TRANSACTIONS's."""
    rows = [
        [row.id, row.user, row.session, row.name, row.started_on.isoformat(sep=" "), row.state, row.scope]
        for row in registry.running_transactions(user)
    ]
    nothing = _typed_row([None] * len(SHOW_TRANSACTIONS_COLUMNS)).where("FALSE")
    selects = [_typed_row(values) for values in rows] or [nothing]
    union = selects[0]
    for select in selects[1:]:
        union = exp.union(union, select, distinct=False)
    return exp.select("*").from_(union.subquery("t")).order_by('"id"').sql(dialect="snowflake")


def _typed_row(values: list[Any]) -> exp.Select:
    columns = [
        exp.alias_(exp.cast(_literal(value), exp.DataType.build(type_, dialect="snowflake")), name, quoted=True)
        for value, (name, type_) in zip(values, SHOW_TRANSACTIONS_COLUMNS.items(), strict=True)
    ]
    return exp.select(*columns)


def _literal(value: Any) -> Expr:
    if value is None:
        return exp.null()
    return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(str(value))


def _lock_timeout(expression: Expr) -> float | None:
    alter = expression.find(exp.AlterSession)
    if alter.args.get("unset"):
        return None
    value = alter.expressions[0].this.expression
    try:
        seconds = float(value.name)
    except ValueError:
        seconds = -1.0
    if seconds < 0 or not isinstance(value, exp.Literal):
        text = value.sql(dialect="snowflake")
        raise ProgrammingError(msg=f"invalid value [{text}] for parameter 'LOCK_TIMEOUT'", errno=1008, sqlstate="22023")
    return seconds


def _uses_context_functions(expression: Expr) -> bool:
    return any(_is_context_function(node) for node in expression.walk())


def _is_context_function(node: Expr) -> bool:
    if isinstance(node, (exp.CurrentSession, exp.CurrentTransaction)):
        return True
    return isinstance(node, exp.Anonymous) and node.name.upper() == ABORT_FUNCTION


def _with_context_values(
    expression: Expr, session: Session, registry: TransactionRegistry, params: Sequence | Mapping | None
) -> Expr:
    """The statement with CURRENT_SESSION(), CURRENT_TRANSACTION() and SYSTEM$ABORT_TRANSACTION(id) replaced by values."""
    bindings = (list(expression.find_all(exp.Placeholder, bfs=False)), params)

    def value_of(node: Expr) -> Expr:
        if isinstance(node, exp.CurrentSession):
            return exp.Literal.string(str(session.id))
        if isinstance(node, exp.CurrentTransaction):
            transaction = registry.current_transaction(session)
            return exp.cast(exp.null() if transaction is None else exp.Literal.string(str(transaction)), "VARCHAR")
        answer = exp.Literal.string(registry.abort(_transaction_id(node, session, registry, bindings), session))
        if not (bound := list(node.find_all(exp.Placeholder))):
            return answer
        # keep the bind variable in the statement, so that the bindings still match its placeholders
        return exp.Coalesce(this=answer, expressions=[exp.cast(bound[0], "VARCHAR")])

    def replace(node: Expr) -> Expr:
        if not _is_context_function(node):
            return node
        value = value_of(node)
        is_column = isinstance(node.parent, exp.Select) and node.arg_key == "expressions"
        return exp.alias_(value, node.sql(dialect="snowflake").upper(), quoted=True) if is_column else value

    return expression.transform(replace, copy=False)


def _transaction_id(
    call: Expr, session: Session, registry: TransactionRegistry, bindings: tuple[list[exp.Placeholder], Any]
) -> int:
    """The id SYSTEM$ABORT_TRANSACTION names: a number or string of digits, a bind variable or CURRENT_TRANSACTION()."""
    argument = call.expressions[0] if len(call.expressions) == 1 else None
    while isinstance(argument, (exp.Cast, exp.Paren)):
        argument = argument.this
    sign = -1 if isinstance(argument, exp.Neg) else 1
    value = _argument_value(argument.this if sign < 0 else argument, session, registry, bindings)
    try:
        return sign * int(str(value).strip())
    except ValueError:
        message = f"Numeric value '{value}' is not recognized"
        raise ProgrammingError(msg=message, errno=100038, sqlstate="22018") from None


def _argument_value(
    argument: Expr | None, session: Session, registry: TransactionRegistry, bindings: tuple[list[exp.Placeholder], Any]
) -> Any:
    if isinstance(argument, exp.Placeholder):
        return _bound_value(argument, *bindings)
    if isinstance(argument, exp.CurrentTransaction):
        return registry.current_transaction(session)
    if isinstance(argument, exp.Literal):
        return argument.name
    raise ProgrammingError(
        msg=f"SQL compilation error: {ABORT_FUNCTION} takes one argument, the id of a transaction.",
        errno=1044,
        sqlstate="42P13",
    )


def _bound_value(placeholder: exp.Placeholder, placeholders: list[exp.Placeholder], params: Sequence | Mapping | None):
    name = placeholder.name
    if isinstance(params, Mapping):
        return params.get(name)
    position = int(name) - 1 if name.isdigit() else next(i for i, p in enumerate(placeholders) if p is placeholder)
    return params[position] if params is not None and position < len(params) else None
