"""Primary-key candidates (single columns, then pairs) and the count of duplicate rows."""

from __future__ import annotations

import dataclasses
import itertools

import duckdb

from etl_assets.profiling.id_columns import NEVER_KEY_TYPES, key_rank
from etl_assets.profiling import sql
from etl_assets.profiling.model import ColumnProfile
from etl_assets.sql_text import quote_identifier

PAIR_POOL = 12
MAX_PAIRS_CHECKED = 10
# DuckDB's HyperLogLog estimates were seen 8% off (a unique column of a million values estimated at 92% of that):
# a column estimated this close to one distinct value per value is counted exactly, to tell whether it is unique.
APPROXIMATE_UNIQUE_SHARE = 0.85
# Distinct 64-bit hashes of a billion values collide about 0.03 times: a pair short of more than this many distinct
# hashes repeats some combination for sure, and is not counted again exactly.
MAX_HASH_COLLISIONS = 2
# A pair whose first column has at least this share of distinct values is checked on that column's repeated rows.
MOSTLY_UNIQUE_SHARE = 0.5
# A pair the sample could not rule out is tried on the window's first rows before every row: a repeat among any
# rows is a repeat, and a pair of two columns of many values each repeats rarely in 20,000 rows but surely in a
# million (a 10M-row window's full count cost 1.8 s; its first million rows, a tenth of that).
PREFIX_ROWS = 1_000_000


def key_candidates(connection: duckdb.DuckDBPyConnection, columns: list[ColumnProfile], row_count: int) -> list[list[str]]:
    """Columns, then pairs of columns, with no missing values and one distinct value per row, id-like names first."""
    if row_count == 0:
        return []
    eligible = sorted(
        (c for c in columns if c.null_count == 0 and c.empty_count == 0 and c.inferred_type not in NEVER_KEY_TYPES),
        key=lambda c: (key_rank(c.name, c.inferred_type), columns.index(c)),
    )
    singles = _unique_singles(eligible, row_count)
    pool = [c for c in eligible if c.name not in singles][:PAIR_POOL]
    pairs = [
        (a.name, b.name)
        for a, b in itertools.combinations(pool, 2)
        if a.distinct_count * b.distinct_count >= row_count
    ]
    distinct = {c.name: c.distinct_count for c in pool}
    return [[name] for name in singles] + [list(pair) for pair in _unique_pairs(connection, pairs, row_count, distinct)]


def count_near_unique(connection: duckdb.DuckDBPyConnection, columns: list[ColumnProfile], row_count: int) -> list[ColumnProfile]:
    """The columns, with those whose estimated distinct count is near their value count counted exactly: a unique
    one gets its exact count and is no longer an estimate, so it is a key candidate and lists no top values."""
    near = [
        index for index, c in enumerate(columns)
        if c.distinct_is_approximate and row_count > c.null_count and c.distinct_count >= (row_count - c.null_count) * APPROXIMATE_UNIQUE_SHARE
    ]  # fmt: skip
    if not near:
        return columns
    groups = _distinct_counts(connection, "source", [quote_identifier(columns[index].name) for index in near])
    counted = list(columns)
    for index, count in zip(near, groups):
        column = columns[index]
        distinct = count - (column.null_count > 0)  # NULL makes a group of its own
        if distinct == row_count - column.null_count:
            counted[index] = dataclasses.replace(column, distinct_count=distinct, distinct_is_approximate=False)
    return counted


def duplicate_rows(connection: duckdb.DuckDBPyConnection, columns: list[ColumnProfile], row_count: int, *, has_key: bool) -> int:
    """Rows that repeat an earlier row in every profiled column (lineage columns aside): the extra copies."""
    if has_key or not columns or row_count < 2:
        return 0
    names = ", ".join(quote_identifier(c.name) for c in columns)
    return row_count - connection.execute(f"SELECT count(*) FROM (SELECT DISTINCT {names} FROM source)").fetchone()[0]


def _unique_singles(eligible: list[ColumnProfile], row_count: int) -> list[str]:
    """The eligible columns with one distinct value per row: exact counts only (count_near_unique made them so)."""
    return [c.name for c in eligible if not c.distinct_is_approximate and c.distinct_count == row_count]


def _unique_pairs(
    connection: duckdb.DuckDBPyConnection, pairs: list[tuple[str, str]], row_count: int, distinct: dict[str, int]
) -> list[tuple[str, str]]:
    """Pairs with no repeated combination: first ruled out on a sample (a repeat there is a repeat), then counted in full."""
    if not pairs:
        return []
    # the profile's sample (sql.create_sample) holds every profiled column: a second one would read the window again
    sampled = min(row_count, sql.SAMPLE_ROWS)
    survivors = _distinct_pairs_equal(connection, "sample", pairs, sampled)[:MAX_PAIRS_CHECKED]
    if row_count <= sampled:
        return survivors
    if row_count > PREFIX_ROWS:
        survivors = _distinct_pairs_equal(connection, f"(SELECT * FROM source LIMIT {PREFIX_ROWS})", survivors, PREFIX_ROWS)
    # pairs led by a mostly unique column are judged on its repeated rows; the others in one count over every row
    by_first: dict[str, list[tuple[str, str]]] = {}
    for pair in survivors:
        if distinct[pair[0]] >= row_count * MOSTLY_UNIQUE_SHARE:
            by_first.setdefault(pair[0], []).append(pair)
    others = [pair for pair in survivors if pair[0] not in by_first]
    unique = set(_distinct_pairs_equal(connection, "source", others, row_count))
    for index, (first, its_pairs) in enumerate(by_first.items()):
        unique.update(_unique_among_repeats(connection, index, first, its_pairs))
    return [pair for pair in survivors if pair in unique]


def _unique_among_repeats(
    connection: duckdb.DuckDBPyConnection, index: int, first: str, pairs: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The pairs starting with `first` that are unique, judged on the rows whose `first` value repeats.

    A row whose `first` value appears once cannot share its pair with any other row, so only the repeats can
    break a pair. When `first` is nearly unique (the pool puts id-like columns first) those are a few rows, which
    are grouped in place of every row of the window, once per pair.
    """
    column = quote_identifier(first)
    table = f"key_repeats_{index}"
    seconds = ", ".join(quote_identifier(b) for _, b in pairs)
    connection.execute(
        f"CREATE TEMP TABLE {table} AS SELECT {column}, {seconds} FROM source "
        f"WHERE {column} IN (SELECT {column} FROM source GROUP BY {column} HAVING count(*) > 1)"
    )
    repeats = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return _distinct_pairs_equal(connection, table, pairs, repeats)


def _distinct_pairs_equal(
    connection: duckdb.DuckDBPyConnection, table: str, pairs: list[tuple[str, str]], expected: int
) -> list[tuple[str, str]]:
    """Pairs whose combinations are all distinct: as many distinct hashes proves it; a few fewer may be hash
    collisions, counted again exactly; more than that are repeated combinations."""
    if not pairs:
        return []
    hashed = _distinct_counts(connection, table, [f"hash({quote_identifier(a)}, {quote_identifier(b)})" for a, b in pairs])
    possible = [(pair, count) for pair, count in zip(pairs, hashed) if count >= expected - MAX_HASH_COLLISIONS]
    unsure = [pair for pair, count in possible if count < expected]
    exact = dict(zip(unsure, _distinct_counts(connection, table, [f"{quote_identifier(a)}, {quote_identifier(b)}" for a, b in unsure])))
    return [pair for pair, _ in possible if exact.get(pair, expected) == expected]


def _distinct_counts(connection: duckdb.DuckDBPyConnection, table: str, groupings: list[str]) -> list[int]:
    """How many groups each GROUP BY list makes; a GROUP BY apiece runs faster than count(DISTINCT ...)s in one query."""
    if not groupings:
        return []
    branches = [f"(SELECT {index} AS i, count(*) AS n FROM (SELECT 1 FROM {table} GROUP BY {g}))" for index, g in enumerate(groupings)]
    return [count for _, count in sorted(connection.execute(" UNION ALL ".join(branches)).fetchall())]
