"""Configured name validation, the column types of a new table, and which type changes a table can take."""

from __future__ import annotations

import pyarrow as pa
import pytest

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.ddl import column_definitions, is_compatible
from etl_assets.warehouse.errors import PermanentWarehouseError
from etl_assets.warehouse.identifiers import object_name, validate_identifier


@pytest.mark.parametrize("name", ["ORDERS", "raw_2026", "_private"])
def test_valid_configured_names_pass(name):
    assert validate_identifier(name) == name


@pytest.mark.parametrize("name", ["", "2fast", "orders;drop", "my table", 'a"b', "naïve"])
def test_invalid_configured_names_are_refused(name):
    with pytest.raises(WarehouseError, match="not a valid Snowflake name"):
        validate_identifier(name)


def test_object_name_resolves_like_an_unquoted_identifier():
    assert object_name("orders") == "ORDERS"


def test_unmappable_type_names_the_column():
    with pytest.raises(PermanentWarehouseError, match="^Column 'elapsed' has type duration.*; cast it in the transform.$"):
        column_definitions(pa.schema([("id", pa.int64()), ("elapsed", pa.duration("s"))]))


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
