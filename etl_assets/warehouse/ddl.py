"""Schema sync: create the target table from an Arrow schema, add new columns, refuse type changes."""

from __future__ import annotations

import re

import pyarrow as pa

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.identifiers import qualified_name, quote_identifier
from etl_assets.warehouse.types import snowflake_type

NUMBER_TYPE = re.compile(r"^NUMBER\((\d+),(\d+)\)$")
SEMI_STRUCTURED = {"VARIANT", "ARRAY", "OBJECT"}
TYPE_SYNONYMS = {"TEXT": "VARCHAR", "STRING": "VARCHAR", "REAL": "FLOAT", "DOUBLE": "FLOAT"}


def column_definitions(arrow_schema: pa.Schema) -> dict[str, str]:
    """Column name -> Snowflake type for every field, names kept exactly as in the Parquet file."""
    names = [field.name for field in arrow_schema]
    clashes = sorted({name for name in names if sum(other.lower() == name.lower() for other in names) > 1})
    if clashes:
        raise WarehouseError(
            f"Columns {clashes} differ only in letter case, which Snowflake loads cannot tell apart; rename them."
        )
    return {field.name: snowflake_type(field.type, field.name) for field in arrow_schema}


def existing_columns(cursor, database: str, schema: str, table: str) -> dict[str, str]:
    """Column name -> Snowflake type of the table, in table order; empty when it does not exist."""
    cursor.execute(
        f"SELECT column_name, data_type, numeric_precision, numeric_scale "
        f"FROM {quote_identifier(database)}.information_schema.columns "
        f"WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table),
    )
    return {name: _declared_type(kind, precision, scale) for name, kind, precision, scale in cursor.fetchall()}


def ensure_target(cursor, database: str, schema: str, table: str, arrow_schema: pa.Schema) -> list[str]:
    """Create the database, schema and table if missing, add new nullable columns; return the added names."""
    wanted = column_definitions(arrow_schema)
    target = qualified_name(database, schema, table)
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified_name(database, schema)}")
    current = existing_columns(cursor, database, schema, table)
    if not current:
        columns = ", ".join(f"{quote_identifier(name)} {sf_type}" for name, sf_type in wanted.items())
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {target} ({columns})")
        return []
    for name, sf_type in wanted.items():
        if name in current and not is_compatible(current[name], sf_type):
            raise WarehouseError(
                f"Column {name!r} of {database}.{schema}.{table} is {current[name]} in Snowflake but the new data "
                f"is {sf_type}; cast it back in the transform or migrate the table."
            )
    added = [name for name in wanted if name not in current]
    for name in added:
        cursor.execute(f"ALTER TABLE {target} ADD COLUMN {quote_identifier(name)} {wanted[name]}")
    return added


def is_compatible(existing: str, incoming: str) -> bool:
    """True when a column of type `existing` holds every value of type `incoming` without loss."""
    if existing == incoming or (existing in SEMI_STRUCTURED and incoming in SEMI_STRUCTURED):
        return True
    old_number, new_number = NUMBER_TYPE.match(existing), NUMBER_TYPE.match(incoming)
    if new_number and existing == "FLOAT":
        return True
    if old_number and new_number:
        old_precision, old_scale = map(int, old_number.groups())
        new_precision, new_scale = map(int, new_number.groups())
        return new_scale <= old_scale and new_precision - new_scale <= old_precision - old_scale
    return False


def _declared_type(data_type: str, precision: int | None, scale: int | None) -> str:
    data_type = TYPE_SYNONYMS.get(data_type.upper(), data_type.upper())
    if data_type == "NUMBER":
        return f"NUMBER({precision if precision is not None else 38},{scale or 0})"
    return data_type
