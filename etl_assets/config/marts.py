"""Marts: tables built in the warehouse from loaded datasets, declared under the config's top-level `marts:`.

A mart reads one dataset or several (`from`) for a run's windows, by `sql` (a SELECT run in Snowflake whose rows
replace the mart's rows of those windows) or by `function` (`package.module:function`, given the sources' rows as
pandas DataFrames).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from etl_assets.config.base import StrictModel

MART_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
MART_IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
DEFAULT_MART_SCHEMA = "MARTS"
# {{orders}} stands for a source's table, {{window_start}} and {{window_end}} for a window's bounds
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
WINDOW_BOUNDS = ("window_start", "window_end")
FUNCTION_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def placeholders_in(sql: str) -> list[str]:
    """The names inside {{...}} in `sql`, in order of appearance."""
    return PLACEHOLDER.findall(sql)


def import_function(reference: str) -> Callable[..., Any]:
    """The callable named `package.module:function`; ValueError saying why when it cannot be had."""
    module_name, _, attribute = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a module's own import error is the user's to see, whatever its type
        raise ValueError(f"cannot import module {module_name!r} ({type(exc).__name__}: {exc}); make it importable where Dagster runs") from None
    found = getattr(module, attribute, None)
    if not callable(found):
        raise ValueError(f"module {module_name!r} has no function {attribute!r}; name a function defined there")
    return found


def _importable(reference: str) -> str:
    if not FUNCTION_REFERENCE.match(reference):
        raise ValueError(f"got {reference!r}; write package.module:function")
    import_function(reference)
    return reference


# `package.module:function`, checked importable when the config loads
FunctionReference = Annotated[str, AfterValidator(_importable)]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class MartConfig(StrictModel):
    """One mart: the datasets it reads, and the SQL or the function that builds its rows from theirs."""

    injected_keys = ("name",)

    name: Annotated[str, StringConstraints(pattern=MART_NAME_PATTERN)]
    description: str | None = None
    from_: Annotated[list[str], Field(min_length=1, alias="from")]
    # a SELECT run in Snowflake for each window; its rows replace the mart table's rows of that window
    sql: str | None = None
    # package.module:function, called with each source's rows of the run's windows as a pandas DataFrame
    function: FunctionReference | None = None
    # the table an sql mart writes, in its sources' database; the mart's name upper-cased by default
    table: Annotated[str, StringConstraints(pattern=MART_IDENTIFIER_PATTERN)] | None = None
    schema_: Annotated[str, StringConstraints(pattern=MART_IDENTIFIER_PATTERN)] = Field(default=DEFAULT_MART_SCHEMA, alias="schema")

    _one_or_many_sources = field_validator("from_", mode="before")(_as_list)

    @field_validator("sql")
    @classmethod
    def _placeholders_known(cls, sql: str | None, info: Any) -> str | None:
        sources = info.data.get("from_") or []
        if sql is None or not sources:
            return sql
        if not re.match(r"\s*(SELECT|WITH)\b", sql, re.IGNORECASE):
            raise ValueError("must be one SELECT (or WITH ... SELECT) whose rows fill a window; the mart writes them itself")
        named = placeholders_in(sql)
        allowed = [*sources, *WINDOW_BOUNDS]
        if unknown := [name for name in named if name not in allowed]:
            raise ValueError(f"has the placeholder {{{{{unknown[0]}}}}}, which is neither a dataset in `from` nor a window bound; use one of {', '.join('{{' + name + '}}' for name in allowed)}")
        if unread := [name for name in sources if name not in named]:
            raise ValueError(f"never reads {{{{{unread[0]}}}}} although `from` lists it; read it or remove it from `from`")
        if not set(WINDOW_BOUNDS) & set(named):
            raise ValueError("reads neither {{window_start}} nor {{window_end}}, so every window would get the same rows; filter the sources by them")
        return sql

    @model_validator(mode="after")
    def _sql_or_function(self) -> MartConfig:
        if (self.sql is None) == (self.function is None):
            given = "both sql and" if self.sql is not None else "neither sql nor"
            raise ValueError(f"gives {given} function; give exactly one: sql (a SELECT run in Snowflake) or function (package.module:function)")
        if self.function is not None and (self.table is not None or self.schema_ != DEFAULT_MART_SCHEMA):
            raise ValueError("table and schema name the table an sql mart writes, and a function mart writes none; remove them")
        if reserved := [name for name in self.from_ if name in WINDOW_BOUNDS]:
            raise ValueError(f"reads dataset {reserved[0]!r}, whose name its SQL would take for a window bound; rename the dataset")
        return self

    @property
    def table_name(self) -> str:
        return (self.table or self.name).upper()

    @property
    def asset_key_path(self) -> list[str]:
        return ["marts", self.name]

