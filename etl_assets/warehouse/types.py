"""Arrow types as Snowflake column types."""

from __future__ import annotations

import pyarrow as pa

from etl_assets.warehouse.errors import PermanentWarehouseError


def snowflake_type(arrow_type: pa.DataType, column: str = "") -> str:
    """The Snowflake column type that holds values of `arrow_type` without loss; JSON text is stored as VARIANT."""
    if isinstance(arrow_type, pa.JsonType):
        return "VARIANT"
    if isinstance(arrow_type, pa.ExtensionType):
        return snowflake_type(arrow_type.storage_type, column)
    if pa.types.is_dictionary(arrow_type):
        return snowflake_type(arrow_type.value_type, column)
    if pa.types.is_integer(arrow_type):
        return "NUMBER(38,0)"
    if pa.types.is_decimal(arrow_type):
        return f"NUMBER({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_floating(arrow_type):
        return "FLOAT"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_null(arrow_type):
        return "VARCHAR"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_time(arrow_type):
        return "TIME"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP_TZ" if arrow_type.tz else "TIMESTAMP_NTZ"
    if pa.types.is_nested(arrow_type):
        return "VARIANT"
    if (
        pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_fixed_size_binary(arrow_type)
    ):
        return "BINARY"
    raise PermanentWarehouseError(
        f"Column {column!r} has type {arrow_type}, which has no Snowflake equivalent here; cast it in the transform."
    )
