"""Nested Parquet columns made loadable: a struct becomes one column per leaf, a list or map becomes JSON text.

Leaves are named `parent__child` (nested structs `a__b__c`), each part normalised like a header, as dlt names
them. JSON columns have Arrow's JSON type, which Parquet keeps as its JSON logical type; maps become JSON
objects, dates and timestamps ISO strings, decimals numbers with all their digits, bytes base64 strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from etl_assets.ingest.names import made_unique, normalise_column_name, normalise_column_names
from etl_assets.sql_text import literal, quote_identifier

SEPARATOR = "__"


@dataclass(frozen=True)
class Flattened:
    """A table without structs, lists or maps, and the source path (`address.city`) each of its columns comes from."""

    table: pa.Table
    headers: dict[str, str]


def flatten_nested(table: pa.Table) -> Flattened:
    """Every column as one or more loadable columns, in order, with normalised names; flat tables are not copied."""
    tops = normalise_column_names(table.column_names)
    leaves = [
        (top + "".join(SEPARATOR + normalise_column_name(part) for part in path[1:]), path, column)
        for top, field, whole in zip(tops, table.schema, table.columns)
        for path, column in _leaves((field.name,), whole)
    ]
    as_json = [index for index, (_, _, column) in enumerate(leaves) if needs_json(column.type)]
    columns = [column for _, _, column in leaves]
    for index, json_column in zip(as_json, json_text([columns[index] for index in as_json])):
        columns[index] = json_column
    names = made_unique([name for name, _, _ in leaves])
    headers = {name: ".".join(path) for name, (_, path, _) in zip(names, leaves)}
    return Flattened(pa.table(dict(zip(names, columns))), headers)


def needs_json(arrow_type: pa.DataType) -> bool:
    """Lists and maps of any kind have no flat column: they travel as JSON."""
    is_list = pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type)
    is_list_view = pa.types.is_list_view(arrow_type) or pa.types.is_large_list_view(arrow_type)
    return is_list or is_list_view or pa.types.is_map(arrow_type)


def json_text(columns: list[pa.ChunkedArray]) -> list[pa.ChunkedArray]:
    """Each column as JSON text of Arrow's JSON type, converted by DuckDB in one vectorised pass."""
    if not columns:
        return []
    names = [f"c{index}" for index in range(len(columns))]
    expressions = ", ".join(f"to_json({_jsonable(name, column.type, 0)}) AS {name}" for name, column in zip(names, columns))
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        try:
            connection.register("nested", pa.table(dict(zip(names, columns))))
            converted = connection.sql(f"SELECT {expressions} FROM nested").to_arrow_table()
        except duckdb.Error as error:
            # an Arrow error, so that the reader names the file and says what to do
            reason = str(error).strip().split("\n", 1)[0]
            raise pa.ArrowNotImplementedError(f"a list or map column holds a type JSON conversion does not know: {reason}") from None
    return [converted.column(name).cast(pa.json_()) for name in names]


def _leaves(path: tuple[str, ...], column: pa.ChunkedArray) -> Iterator[tuple[tuple[str, ...], pa.ChunkedArray]]:
    """The struct's leaves, depth first, each null wherever a parent is null; any other column is its own leaf."""
    if not pa.types.is_struct(column.type):
        yield path, column
        return
    for child_field, child in zip(column.type, column.flatten()):
        yield from _leaves((*path, child_field.name), child)


def _jsonable(sql: str, arrow_type: pa.DataType, depth: int) -> str:
    """`sql` rewritten so that DuckDB's to_json writes it as wanted; lambdas take x0, x1... by depth.

    Values stay typed wherever to_json writes them right: JSON built inside is parsed again, and its numbers
    as doubles, which would drop a decimal's digits.
    """
    element = f"x{depth}"
    if pa.types.is_map(arrow_type):
        value = _jsonable(f"{element}.value", arrow_type.item_type, depth + 1)
        entries = f"list_transform(map_entries({sql}), lambda {element}: struct_pack(key := {element}.key, value := {value}))"
        return f"map_from_entries({entries})"
    if needs_json(arrow_type):
        return f"list_transform({sql}, lambda {element}: {_jsonable(element, arrow_type.value_type, depth + 1)})"
    if pa.types.is_struct(arrow_type):
        fields = ", ".join(
            f"{quote_identifier(field.name)} := {_jsonable(f'struct_extract({sql}, {literal(field.name)})', field.type, depth)}"
            for field in arrow_type
        )
        return f"CASE WHEN {sql} IS NULL THEN NULL ELSE struct_pack({fields}) END"
    if pa.types.is_floating(arrow_type):
        # JSON has no NaN or infinity: those travel as the strings "nan", "inf" and "-inf"
        return f"CASE WHEN isfinite({sql}) THEN to_json({sql}) ELSE to_json(CAST({sql} AS VARCHAR)) END"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type) or pa.types.is_fixed_size_binary(arrow_type):
        return f"to_base64({sql})"
    if pa.types.is_decimal(arrow_type):
        # DuckDB writes decimals of up to 18 digits through a double (12.50 as 12.5); 38 digits it writes as they are
        return f"CAST({sql} AS DECIMAL(38,{arrow_type.scale}))"
    if pa.types.is_timestamp(arrow_type):
        # DuckDB's text keeps every fractional digit; ISO 8601 wants a T between date and time
        return f"replace(CAST({sql} AS VARCHAR), ' ', 'T')"
    return sql
