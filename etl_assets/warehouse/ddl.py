"""Schema sync: create the target table from an Arrow schema, add new columns, widen safely, refuse type changes."""

from __future__ import annotations

import re

import pyarrow as pa

from etl_assets.column_types import snowflake_type
from etl_assets.compliance.marks import mask_of
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.errors import PermanentWarehouseError
from etl_assets.warehouse.model import SchemaChanges

NUMBER_TYPE = re.compile(r"^NUMBER\((\d+),(\d+)\)$")
VARCHAR_TYPE = re.compile(r"^VARCHAR(?:\((\d+)\))?$")
MAX_VARCHAR_LENGTH = 16_777_216
MAX_NUMBER_PRECISION = 38
SEMI_STRUCTURED = {"VARIANT", "ARRAY", "OBJECT"}
TYPE_SYNONYMS = {"TEXT": "VARCHAR", "STRING": "VARCHAR", "REAL": "FLOAT", "DOUBLE": "FLOAT"}


def column_definitions(arrow_schema: pa.Schema) -> dict[str, str]:
    """Column name -> Snowflake type for every field, names kept exactly as in the Parquet file."""
    names = [field.name for field in arrow_schema]
    clashes = sorted({name for name in names if sum(other.lower() == name.lower() for other in names) > 1})
    if clashes:
        raise PermanentWarehouseError(
            f"Columns {clashes} differ only in letter case, which Snowflake loads cannot tell apart; rename them."
        )
    return {field.name: _snowflake_type(field) for field in arrow_schema}


def _snowflake_type(arrow_field: pa.Field) -> str:
    kind = snowflake_type(arrow_field.type)
    if kind is None:
        raise PermanentWarehouseError(
            f"Column {arrow_field.name!r} has type {arrow_field.type}, which has no Snowflake equivalent here; "
            "cast it in the transform."
        )
    return kind


def existing_columns(cursor, database: str, schema: str, table: str) -> dict[str, str]:
    """Column name -> Snowflake type of the table, in table order; empty when it does not exist."""
    cursor.execute(
        f"SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale "
        f"FROM {quote_identifier(database)}.information_schema.columns "
        f"WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table),
    )
    return {name: _declared_type(*details) for name, *details in cursor.fetchall()}


def ensure_target(
    cursor, database: str, schema: str, table: str, arrow_schema: pa.Schema, known: dict[str, str] | None = None
) -> SchemaChanges:
    """Create the database, schema and table if missing, widen columns, add new nullable ones.

    DDL commits on its own in Snowflake, so these changes stay even when the load after them fails; each
    one only lets the table hold more, so the table's rows and meaning are unchanged. `known`, the table's
    columns as the caller last read them (a range's earlier window), saves every statement when they already
    hold the rows.
    """
    wanted = column_definitions(arrow_schema)
    if known and all(name in known and is_compatible(known[name], sf_type) for name, sf_type in wanted.items()):
        return SchemaChanges()
    target = qualified_name(database, schema, table)
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified_name(database, schema)}")
    current = existing_columns(cursor, database, schema, table)
    if not current:
        columns = ", ".join(f"{quote_identifier(name)} {sf_type}" for name, sf_type in wanted.items())
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {target} ({columns})")
        return SchemaChanges(created=True)
    widened = {}
    for name, sf_type in wanted.items():
        if name not in current or is_compatible(current[name], sf_type):
            continue
        wider = widened_type(current[name], sf_type)
        if wider is None and mask_of(arrow_schema.field(name)) == "hash":
            raise PermanentWarehouseError(
                f"Column {name!r} of {database}.{schema}.{table} is {current[name]} in Snowflake but compliance.mask "
                f"hashes it into 64-hex tokens ({sf_type}); migrate the table's column to {sf_type} (its earlier rows "
                "then still hold clear values until their windows are loaded again) or take the column out of mask."
            )
        if wider is None:
            raise PermanentWarehouseError(
                f"Column {name!r} of {database}.{schema}.{table} is {current[name]} in Snowflake but the new data "
                f"is {sf_type}; cast it back to {current[name]} in the transform, or migrate the table's column "
                f"to {sf_type} before loading."
            )
        widened[name] = (current[name], wider)
    for name, (_, wider) in widened.items():
        cursor.execute(f"ALTER TABLE {target} ALTER COLUMN {quote_identifier(name)} SET DATA TYPE {wider}")
    added = [name for name in wanted if name not in current]
    for name in added:
        cursor.execute(f"ALTER TABLE {target} ADD COLUMN {quote_identifier(name)} {wanted[name]}")
    return SchemaChanges(added=added, widened=widened)


def is_compatible(existing: str, incoming: str) -> bool:
    """True when a column of type `existing` holds every value of type `incoming` without loss."""
    if existing == incoming or (existing in SEMI_STRUCTURED and incoming in SEMI_STRUCTURED):
        return True
    old_text, new_text = VARCHAR_TYPE.match(existing), VARCHAR_TYPE.match(incoming)
    if old_text and new_text:
        return _length(old_text) >= _length(new_text)
    old_number, new_number = NUMBER_TYPE.match(existing), NUMBER_TYPE.match(incoming)
    if new_number and existing == "FLOAT":
        return True
    if old_number and new_number:
        old_precision, old_scale = map(int, old_number.groups())
        new_precision, new_scale = map(int, new_number.groups())
        return new_scale <= old_scale and new_precision - new_scale <= old_precision - old_scale
    return False


def widened_type(existing: str, incoming: str) -> str | None:
    """The type Snowflake can widen `existing` to in place so it holds `incoming`; None when there is none.

    Snowflake alters a column in place only to a longer VARCHAR or a NUMBER of higher precision and the
    same scale; anything else (another type, another scale) would rewrite or lose values.
    """
    old_text, new_text = VARCHAR_TYPE.match(existing), VARCHAR_TYPE.match(incoming)
    if old_text and new_text:
        return incoming
    old_number, new_number = NUMBER_TYPE.match(existing), NUMBER_TYPE.match(incoming)
    if not (old_number and new_number):
        return None
    old_precision, old_scale = map(int, old_number.groups())
    new_precision, new_scale = map(int, new_number.groups())
    precision = max(old_precision, new_precision - new_scale + old_scale)
    if new_scale > old_scale or precision > MAX_NUMBER_PRECISION:
        return None
    return f"NUMBER({precision},{old_scale})"


def _length(match: re.Match) -> int:
    return int(match.group(1) or MAX_VARCHAR_LENGTH)


def _declared_type(data_type: str, length: int | None, precision: int | None, scale: int | None) -> str:
    data_type = TYPE_SYNONYMS.get(data_type.upper(), data_type.upper())
    if data_type == "NUMBER":
        return f"NUMBER({precision if precision is not None else 38},{scale or 0})"
    if data_type == "VARCHAR" and length and length < MAX_VARCHAR_LENGTH:
        return f"VARCHAR({length})"
    return data_type
