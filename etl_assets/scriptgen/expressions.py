"""The policy for `expr` columns: one pure scalar SQL expression over columns, nothing else."""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

ALLOWED_SYNTAX: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Paren,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.DPipe,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Case,
    exp.If,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.DataTypeParam,
    exp.Interval,
)

ALLOWED_FUNCTIONS: tuple[type[exp.Func], ...] = (
    exp.Coalesce,
    exp.Nullif,
    exp.Greatest,
    exp.Least,
    exp.Abs,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Trunc,
    exp.Sign,
    exp.Sqrt,
    exp.Pow,
    exp.Ln,
    exp.Log,
    exp.Exp,
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Concat,
    exp.ConcatWs,
    exp.Substring,
    exp.Length,
    exp.Replace,
    exp.Left,
    exp.Right,
    exp.Pad,
    exp.StrPosition,
    exp.Reverse,
    exp.SplitPart,
    exp.StartsWith,
    exp.EndsWith,
    exp.Contains,
    exp.RegexpLike,
    exp.RegexpExtract,
    exp.RegexpReplace,
    exp.Extract,
    exp.Year,
    exp.Quarter,
    exp.Month,
    exp.Week,
    exp.Day,
    exp.DayOfWeek,
    exp.Hour,
    exp.Minute,
    exp.DateTrunc,
    exp.TimestampTrunc,
    exp.DateDiff,
    exp.StrToTime,
    exp.StrToDate,
    exp.TimeToStr,
)

# A bare word such as DAY or YEAR is only meaningful as a date part; elsewhere DuckDB would read it as a column.
DATE_PART_HOLDERS = (exp.Interval, exp.Extract, exp.DateTrunc, exp.TimestampTrunc, exp.DateDiff)


class ExpressionPolicyError(ValueError):
    """An `expr` is not valid SQL or uses something outside the policy; the message ends a sentence."""


def parse_expression(text: str) -> exp.Expression:
    """Parse one DuckDB expression and check every node against the allow-lists."""
    try:
        statements = sqlglot.parse(text, read="duckdb")
    except SqlglotError as error:
        raise ExpressionPolicyError(f"is not valid SQL ({str(error).splitlines()[0]})") from error
    if len(statements) != 1 or statements[0] is None:
        raise ExpressionPolicyError("must be exactly one expression, without ';'")
    tree = statements[0]
    for node in tree.walk():
        _check_node(node)
    return tree


def referenced_columns(tree: exp.Expression) -> list[str]:
    """The column names the expression reads, in order of first appearance."""
    return list(dict.fromkeys(column.name for column in tree.find_all(exp.Column, bfs=False)))


def render_expression(tree: exp.Expression, resolve: Callable[[str], str]) -> str:
    """DuckDB SQL for the expression with each column renamed by `resolve` and every identifier quoted."""
    renamed = tree.transform(
        lambda node: exp.column(resolve(node.name), quoted=True) if isinstance(node, exp.Column) else node
    )
    return renamed.sql(dialect="duckdb", identify=True)


def _check_node(node: exp.Expression) -> None:
    if isinstance(node, exp.Column):
        if node.table or not isinstance(node.this, exp.Identifier):
            written = node.sql(dialect="duckdb")
            raise ExpressionPolicyError(f"refers to {written}, but only plain column names are allowed")
        return
    if isinstance(node, exp.Var):
        if not isinstance(node.parent, DATE_PART_HOLDERS):
            raise ExpressionPolicyError(f"uses the bare word {node.name}, which is neither a column nor a literal")
        return
    if isinstance(node, ALLOWED_SYNTAX + ALLOWED_FUNCTIONS):
        return
    raise ExpressionPolicyError(f"uses {_describe(node)}, which is not allowed")


def _describe(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return f"the unknown function {node.name.upper()}()"
    if isinstance(node, exp.Func):
        return f"the function {node.sql_name()}()"
    if isinstance(node, (exp.Query, exp.Subquery)):
        return "a subquery"
    return f"a {node.key.upper()} construct"
