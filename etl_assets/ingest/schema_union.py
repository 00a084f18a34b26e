"""Batches whose columns differ brought under one schema without losing a value.

A JSON file is typed batch by batch, so a later batch may add a column or type one differently. A missing column is
NULL; integers and floats together are float64 when a double holds every integer exactly, else text, as a JSON
column is; any other disagreement is text.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

MAX_EXACT_INTEGER = 2**53


def fitted(table: pa.Table, schema: pa.Schema) -> pa.Table | None:
    """`table` under `schema` when no value changes but for an integer becoming the same float; else None."""
    if not set(table.column_names) <= set(schema.names):
        return None
    columns = []
    for field in schema:
        column = _lossless(table[field.name], field.type) if field.name in table.column_names else pa.nulls(table.num_rows, field.type)
        if column is None:
            return None
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def widened(schema: pa.Schema, other: pa.Schema) -> pa.Schema:
    """`schema`'s columns then `other`'s new ones, each typed as `other` types it unless that is NULL."""
    types = {field.name: field.type for field in schema}
    for field in other:
        if field.name not in types or not pa.types.is_null(field.type):
            types[field.name] = field.type
    return pa.schema(list(types.items()))


def union_schema(schemas: list[pa.Schema], integers_fit: Callable[[str], bool], last: list[str]) -> pa.Schema:
    """Every column of `schemas` in order of appearance, `last` at the end, each of the type its schemas agree on."""
    types: dict[str, set[pa.DataType]] = {}
    for schema in schemas:
        for field in schema:
            types.setdefault(field.name, set())
            if not pa.types.is_null(field.type):
                types[field.name].add(field.type)
    names = [name for name in types if name not in last] + [name for name in last if name in types]
    return pa.schema([(name, common_type(types[name], lambda name=name: integers_fit(name))) for name in names])


def common_type(types: set[pa.DataType], integers_fit: Callable[[], bool]) -> pa.DataType:
    """The one type for a column its batches type as `types` (NULL left out); `integers_fit` is asked only when needed."""
    if len(types) == 1:
        return next(iter(types))
    if not types:
        return pa.string()
    numeric = all(pa.types.is_integer(kind) or pa.types.is_floating(kind) for kind in types)
    # a double holds every integer only up to 2**53: beyond, the column is text, digits exact
    if numeric and pa.float64() in types and integers_fit():
        return pa.float64()
    return pa.string()


def conformed(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` under `schema` (a union of its own): missing columns NULL, and text where a cast would lose a value."""
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, field.type))
            continue
        column = _lossless(table[field.name], field.type)
        columns.append(_as_text(table[field.name]) if column is None else column)
    return pa.Table.from_arrays(columns, schema=schema)


def concatenated(tables: list[pa.Table], last: list[str]) -> pa.Table:
    """The tables one after the other, under their union schema when they differ."""
    if all(table.schema.equals(tables[0].schema) for table in tables):
        return pa.concat_tables(tables)
    schema = union_schema([table.schema for table in tables], lambda name: all(_integers_fit(table, name) for table in tables), last)
    return pa.concat_tables([conformed(table, schema) for table in tables])


def integers_fit_double(minimum: int, maximum: int) -> bool:
    return -MAX_EXACT_INTEGER <= minimum and maximum <= MAX_EXACT_INTEGER


def _integers_fit(table: pa.Table, name: str) -> bool:
    if name not in table.column_names or not pa.types.is_integer(table.schema.field(name).type):
        return True
    bounds = pc.min_max(table[name]).as_py()
    return bounds["min"] is None or integers_fit_double(bounds["min"], bounds["max"])


def _lossless(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray | None:
    if column.type == target:
        return column
    widening = target == pa.float64() and (pa.types.is_integer(column.type) or pa.types.is_floating(column.type))
    if not (pa.types.is_null(column.type) or widening):
        return None
    try:
        return pc.cast(column, target)  # a safe cast: an integer a double does not hold exactly fails
    except pa.ArrowInvalid:
        return None


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        # Nested values have no Arrow cast to text; JSON keeps them readable.
        values = column.to_pylist()
        return pa.chunked_array([pa.array([None if value is None else json.dumps(value, default=str) for value in values], pa.string())])
