"""What a rule type sees of the window it checks: its Parquet as DuckDB reads it, and the facts of the whole window."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.sql_text import literal, parquet_by_position, position_aliases

# Another dataset's key values: a table of loaded keys, or that dataset's transformed Parquet files.
ReferenceData = pa.Table | Path | list[Path]


@dataclass
class Window:
    """The window's Parquet on an open DuckDB connection, every column renamed c0, c1, ...

    The queries then never meet a column named like their own names (file_row_number, _row, f0, ...).
    """

    connection: duckdb.DuckDBPyConnection
    path: Path
    aliases: dict[str, str]
    types: dict[str, str]
    # (dataset, key) of each `references` rule: the values the rule's column must be among
    references: Mapping[tuple[str, str], ReferenceData] = field(default_factory=dict)
    _view_numbers: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @classmethod
    def read(
        cls, connection: duckdb.DuckDBPyConnection, path: Path, references: Mapping[tuple[str, str], ReferenceData]
    ) -> Window:
        names = pq.read_schema(path).names
        described = connection.execute(f"DESCRIBE SELECT * FROM read_parquet({literal(str(path))})").fetchall()
        aliases = dict(zip(names, position_aliases(len(names)), strict=True))
        types = {name: row[1] for name, row in zip(names, described, strict=True)}
        return cls(connection, path, aliases, types, references)

    @property
    def source(self) -> str:
        return self.read_as("source")

    def read_as(self, table: str) -> str:
        """The window's rows under the table name `table`, their columns renamed as in `source`: a subquery of a
        rule reads the window again under a name of its own."""
        return parquet_by_position(self.path, table, len(self.aliases))

    def column(self, name: str) -> str:
        return self.aliases[name]

    def view_name(self, prefix: str) -> str:
        """A name no other view on this connection has."""
        return f"{prefix}_{next(self._view_numbers)}"


@dataclass(frozen=True)
class WindowFacts:
    """What window-level rules judge: the whole window's size, schema and column types, and the time of the check."""

    rows_total: int
    schema: pa.Schema
    types: Mapping[str, str]
    now: dt.datetime


@dataclass(frozen=True)
class RowFlag:
    """How one row-level rule flags a failing row, as a SQL boolean, and what to say when it could not run."""

    sql: str
    problem: str | None = None


@dataclass(frozen=True)
class Verdict:
    """A window-level rule's judgement: `failing_count` counts problems, not rows."""

    passed: bool
    failing_count: int
    detail: str

    @classmethod
    def of(cls, passed: bool, detail: str) -> Verdict:
        return cls(passed, int(not passed), detail)

