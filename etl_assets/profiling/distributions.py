"""How each column's values spread: mean, stddev, quantiles, histogram, top values and value shapes, in two scans."""

from __future__ import annotations

import dataclasses
import math

import duckdb
import pyarrow as pa

from etl_assets.column_types import is_text
from etl_assets.json_values import json_safe
from etl_assets.profiling.model import ColumnProfile, DateCandidate
from etl_assets.profiling.sql import grouped, top_values, typed_value
from etl_assets.sql_text import quote_identifier

QUANTILES = {"p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}
HISTOGRAM_BINS = 10
TOP_VALUES = 10
SHAPES = 5
SHAPE_MAX_LENGTH = 40  # shapes are counted in the semantics sample: rewriting text costs seconds per million values
# A column whose estimated distinct count is this close to its value count has no value worth listing as "top".
NEAR_UNIQUE_SHARE = 0.97
# From this many rows a number column's histogram is counted in the moments scan rather than in a scan of its own.
BINS_IN_MOMENTS_MIN_ROWS = 100_000
# Each class of ASCII character stands in as one character; three regexp_replace calls beat one translate() threefold.
SHAPE_CLASSES = (("[a-z]", "a"), ("[A-Z]", "A"), ("[0-9]", "9"))


def add_distributions(
    connection: duckdb.DuckDBPyConnection,
    columns: list[ColumnProfile],
    fields: list[pa.Field],
    dates: list[DateCandidate],
    row_count: int,
    sample_rows: int,
) -> list[ColumnProfile]:
    """The columns with mean, stddev, quantiles, histogram, top values and pattern sample filled in; `sample_rows`
    is the row count of the temp table `sample`."""
    date_formats = {d.column: d.format for d in dates if d.format and "%" in d.format}
    values = {c.name: typed_value(c.name, f.type, c.inferred_type, date_formats.get(c.name)) for c, f in zip(columns, fields)}
    approximate = any(column.distinct_is_approximate for column in columns)
    # a small window's bins cost less as their own GROUP BY than as ten more aggregates in the moments query
    known_bounds = _known_bounds(columns, values) if row_count >= BINS_IN_MOMENTS_MIN_ROWS else {}
    moments = _moments(connection, values, approximate, known_bounds)
    counted = _counted(connection, columns, fields, values, moments, row_count, sample_rows)
    return [
        dataclasses.replace(column, **moments.get(column.name, {}).get("fields", {}), **counted.get(column.name, {}))
        for column in columns
    ]


def add_value_counts(
    connection: duckdb.DuckDBPyConnection, columns: list[ColumnProfile], fields: list[pa.Field], row_count: int, sample_rows: int
) -> list[ColumnProfile]:
    """The columns with their exact distinct count and top values, from one GROUP BY per column; `sample_rows` is
    the row count of the temp table `sample`.

    A small window's text columns are counted together (sql.grouped), in one GROUP BY of all their values of the
    sample, which then holds every row: planning a GROUP BY per column costs more than running it.
    """
    text = [(index, c.name) for index, (c, f) in enumerate(zip(columns, fields)) if is_text(f.type)]
    together = text if grouped(text, sample_rows) else []
    alone = [(index, c.name) for index, c in enumerate(columns) if (index, c.name) not in together]
    # each column is read through a subquery that names it `raw`: only then can no column name shadow the aliases
    branches = [
        f"(SELECT {index} AS i, CAST(raw AS VARCHAR) AS v, n, groups FROM (SELECT raw, count(*) AS n, count(*) OVER () AS groups "
        f"FROM (SELECT {quote_identifier(name)} AS raw FROM source) WHERE raw IS NOT NULL GROUP BY raw) ORDER BY n DESC, v LIMIT {TOP_VALUES})"
        for index, name in alone
    ]
    if together:
        branches.append(top_values(together, "v", TOP_VALUES))
    if not branches:
        return columns
    distinct: dict[int, int] = {}
    top: dict[int, list] = {}
    for index, value, count, groups in connection.execute(" UNION ALL ".join(branches)).fetchall():
        distinct[index] = groups
        top.setdefault(index, []).append([value, count])
    counted = [dataclasses.replace(column, distinct_count=distinct.get(index, 0)) for index, column in enumerate(columns)]
    return [
        dataclasses.replace(column, top_values=top.get(index, []) if _has_top_values(column, row_count) else [])
        for index, column in enumerate(counted)
    ]


def _moments(
    connection: duckdb.DuckDBPyConnection,
    values: dict[str, tuple[str, str] | None],
    approximate: bool,
    known_bounds: dict[str, tuple[float, float]],
) -> dict[str, dict]:
    """Per number or date column: mean, stddev and quantiles (dates: quantiles only), and the finite bounds.

    Exact quantiles hold every value of the column in memory at once; above EXACT_DISTINCT_MAX_ROWS rows they are
    T-Digest estimates, whose memory stays the same however many rows there are. A number column whose bounds
    the base profile already found gets its histogram counted in the same scan (`binned`, a count per bin),
    kept only when the scan finds the same bounds; the others are counted by _counted.
    """
    fractions = "[" + ", ".join(str(q) for q in QUANTILES.values()) + "]"
    continuous, discrete = ("approx_quantile", "approx_quantile") if approximate else ("quantile_cont", "quantile_disc")
    plans = {}
    for name, typed in values.items():
        if typed is None:
            continue
        kind, value = typed
        if kind == "number":
            # one count per histogram bin; DuckDB computes the shared bin expression once per row
            bins = [f"count_if({_bin_of(value, *known_bounds[name])} = {b})" for b in range(HISTOGRAM_BINS)] if name in known_bounds else []
            plans[name] = (kind, [f"avg({value})", f"stddev_samp({value})", f"{continuous}({value}, {fractions})", f"min({value})", f"max({value})", *bins])
        else:
            plans[name] = (kind, [f"{discrete}({value}, {fractions})"])
    if not plans:
        return {}
    row = connection.execute(f"SELECT {', '.join(a for _, plan in plans.values() for a in plan)} FROM source").fetchone()
    moments, offset = {}, 0
    for name, (kind, plan) in plans.items():
        result = row[offset : offset + len(plan)]
        offset += len(plan)
        if kind == "number":
            mean, stddev, quantiles, low, high, *binned = result
            moments[name] = {"fields": {"mean": _finite(mean), "stddev": _finite(stddev), "quantiles": _quantiles(quantiles)}, "bounds": (low, high)}
            if binned and known_bounds[name] == (low, high):
                moments[name]["binned"] = [[str(b), n] for b, n in enumerate(binned)]
        else:
            moments[name] = {"fields": {"quantiles": _quantiles(result[0])}}
    return moments


def _counted(
    connection: duckdb.DuckDBPyConnection,
    columns: list[ColumnProfile],
    fields: list[pa.Field],
    values: dict[str, tuple[str, str] | None],
    moments: dict[str, dict],
    row_count: int,
    sample_rows: int,
) -> dict[str, dict]:
    """Top values (when not counted exactly before), histogram bins and sampled value shapes, as one UNION ALL of GROUP BYs."""
    branches, bins, shaped = [], {}, []
    for index, (column, arrow_field) in enumerate(zip(columns, fields)):
        quoted = quote_identifier(column.name)
        if column.distinct_is_approximate and _has_top_values(column, row_count):
            branches.append(_branch(index, "top", f"CAST({quoted} AS VARCHAR)", f"{quoted} IS NOT NULL", TOP_VALUES))
        if is_text(arrow_field.type) and column.null_count < row_count:
            shaped.append((index, column.name))
        low, high = moments.get(column.name, {}).get("bounds", (None, None))
        if low is not None and high is not None:
            bins[column.name] = (low, high, (high - low) / HISTOGRAM_BINS)
            if "binned" not in moments[column.name]:
                # the typed value is computed once, in the subquery, and bins are grouped as numbers, made text only after
                numbers = f"(SELECT {values[column.name][1]} AS x FROM source)"
                binned = f"(SELECT {_bin_of('x', low, high)} AS b, count(*) AS n FROM {numbers} WHERE x IS NOT NULL GROUP BY b)"
                branches.append(f"(SELECT {index} AS i, 'bin' AS kind, CAST(b AS VARCHAR) AS v, n FROM {binned})")
    branches += _shape_branches(shaped, sample_rows)
    counted: dict[str, dict] = {c.name: {} for c in columns}
    collected: dict[tuple[int, str], list] = {
        (index, "bin"): moments[column.name]["binned"] for index, column in enumerate(columns) if "binned" in moments.get(column.name, {})
    }
    for index, kind, value, count in connection.execute(" UNION ALL ".join(branches)).fetchall() if branches else []:
        collected.setdefault((index, kind), []).append([value, count])
    for index, column in enumerate(columns):
        entry = counted[column.name]
        if column.distinct_is_approximate:
            entry["top_values"] = collected.get((index, "top"), [])
        entry["pattern_sample"] = collected.get((index, "shape"), [])
        if column.name in bins:
            entry["histogram"] = _histogram(bins[column.name], collected.get((index, "bin"), []))
    return counted


def _shape_branches(shaped: list[tuple[int, str]], sample_rows: int) -> list[str]:
    """The SHAPES commonest shapes of each (index, name) text column's values in the sample, as UNION ALL branches.

    A small sample's columns are shaped together, in one GROUP BY of all their values: DuckDB then compiles the
    shape's regexes once instead of once per column, which costs more than shaping a few hundred values.
    """
    if grouped(shaped, sample_rows):
        return [f"(SELECT i, 'shape' AS kind, v, n FROM {top_values(shaped, _shape_of('v'), SHAPES)} ORDER BY i, n DESC, v)"]
    return [
        _branch(index, "shape", _shape_of(quote_identifier(name)), f"{quote_identifier(name)} IS NOT NULL", SHAPES, table="sample")
        for index, name in shaped
    ]


def _shape_of(value: str) -> str:
    """A text value's shape: its first SHAPE_MAX_LENGTH characters, each ASCII letter or digit standing in for its class."""
    shape = f"left({value}, {SHAPE_MAX_LENGTH})"
    for characters, stand_in in SHAPE_CLASSES:
        shape = f"regexp_replace({shape}, '{characters}', '{stand_in}', 'g')"
    return shape


def _known_bounds(columns: list[ColumnProfile], values: dict[str, tuple[str, str] | None]) -> dict[str, tuple[float, float]]:
    """The finite min and max the base profile found for each number column, as the typed values' bounds."""
    bounds = {}
    for column in columns:
        if values.get(column.name) is None or values[column.name][0] != "number":
            continue
        try:
            low, high = float(column.min), float(column.max)
        except (TypeError, ValueError):
            continue
        if math.isfinite(low) and math.isfinite(high):
            bounds[column.name] = (low, high)
    return bounds


def _bin_of(value: str, low: float, high: float) -> str:
    """The histogram bin, 0 to HISTOGRAM_BINS - 1, of a number between `low` and `high`; NULL for NULL (which
    least() alone would put in the last bin)."""
    width = (high - low) / HISTOGRAM_BINS
    bin_ = f"CAST(least(floor(({value} - {low!r}) / {width!r}), {HISTOGRAM_BINS - 1}) AS INTEGER)" if width else "0"
    return f"(CASE WHEN {value} IS NOT NULL THEN {bin_} END)"


def _branch(index: int, kind: str, value: str, where: str, limit: int | None, table: str = "source") -> str:
    """Counts of `value`, grouped outside the subquery that computes it, where no column name can shadow `v`."""
    limited = f" ORDER BY n DESC, v LIMIT {limit}" if limit else ""
    values = f"(SELECT {value} AS v FROM {table} WHERE {where})"
    return f"(SELECT {index} AS i, '{kind}' AS kind, v, count(*) AS n FROM {values} GROUP BY v{limited})"


def _has_top_values(column: ColumnProfile, row_count: int) -> bool:
    """Unique columns have no top values: every value appears once, so listing ten of them says nothing."""
    share = NEAR_UNIQUE_SHARE if column.distinct_is_approximate else 1.0
    return 0 < column.distinct_count < (row_count - column.null_count) * share


def _histogram(bounds: tuple[float, float, float], counts: list) -> list[list[float]]:
    low, high, width = bounds
    if not width:
        return [[low, high, sum(count for _, count in counts)]]
    by_bin = {int(value): count for value, count in counts}
    return [[low + width * b, high if b == HISTOGRAM_BINS - 1 else low + width * (b + 1), by_bin.get(b, 0)] for b in range(HISTOGRAM_BINS)]


def _quantiles(values: list | None) -> dict | None:
    if values is None or all(v is None for v in values):
        return None
    return {name: json_safe(_finite(v) if isinstance(v, float) else v) for name, v in zip(QUANTILES, values)}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
