"""Configured name validation, and Arrow -> Snowflake type mapping."""

from __future__ import annotations

import pyarrow as pa
import pytest

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.ddl import is_compatible
from etl_assets.warehouse.identifiers import object_name, validate_identifier
from etl_assets.warehouse.types import snowflake_type


@pytest.mark.parametrize("name", ["ORDERS", "raw_2026", "_private"])
def test_valid_configured_names_pass(name):
    assert validate_identifier(name) == name


@pytest.mark.parametrize("name", ["", "2fast", "orders;drop", "my table", 'a"b', "naïve"])
def test_invalid_configured_names_are_refused(name):
    with pytest.raises(WarehouseError, match="not a valid Snowflake name"):
        validate_identifier(name)


def test_object_name_resolves_like_an_unquoted_identifier():
    assert object_name("orders") == "ORDERS"


@pytest.mark.parametrize(
    ("arrow_type", "expected"),
    [
        (pa.int8(), "NUMBER(38,0)"),
        (pa.uint64(), "NUMBER(38,0)"),
        (pa.decimal128(12, 2), "NUMBER(12,2)"),
        (pa.float32(), "FLOAT"),
        (pa.float64(), "FLOAT"),
        (pa.string(), "VARCHAR"),
        (pa.large_string(), "VARCHAR"),
        (pa.dictionary(pa.int32(), pa.string()), "VARCHAR"),
        (pa.bool_(), "BOOLEAN"),
        (pa.date32(), "DATE"),
        (pa.timestamp("us"), "TIMESTAMP_NTZ"),
        (pa.timestamp("ns", tz="UTC"), "TIMESTAMP_TZ"),
        (pa.list_(pa.int64()), "VARIANT"),
        (pa.struct([("a", pa.int64())]), "VARIANT"),
        (pa.map_(pa.string(), pa.int64()), "VARIANT"),
        (pa.binary(), "BINARY"),
    ],
)
def test_arrow_types_map_to_snowflake_types(arrow_type, expected):
    assert snowflake_type(arrow_type) == expected


def test_unmappable_type_names_the_column():
    with pytest.raises(WarehouseError, match="Column 'elapsed' has type duration"):
        snowflake_type(pa.duration("s"), "elapsed")


@pytest.mark.parametrize(
    ("existing", "incoming", "compatible"),
    [
        ("NUMBER(38,0)", "NUMBER(38,0)", True),
        ("NUMBER(12,2)", "NUMBER(10,2)", True),
        ("NUMBER(12,2)", "NUMBER(12,4)", False),
        ("NUMBER(38,0)", "NUMBER(12,2)", False),
        ("FLOAT", "NUMBER(38,0)", True),
        ("NUMBER(38,0)", "FLOAT", False),
        ("VARCHAR", "NUMBER(38,0)", False),
        ("VARIANT", "VARIANT", True),
        ("TIMESTAMP_TZ", "TIMESTAMP_NTZ", False),
    ],
)
def test_type_compatibility(existing, incoming, compatible):
    assert is_compatible(existing, incoming) is compatible
