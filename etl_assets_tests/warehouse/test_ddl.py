"""Schema sync against the real emulator."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.ddl import ensure_target, existing_columns


@pytest.fixture
def cursor(warehouse_connection):
    cursor = warehouse_connection.cursor()
    yield cursor
    cursor.close()


@pytest.fixture
def schema_name() -> str:
    return f"D_{uuid.uuid4().hex[:8].upper()}"


ORDERS = pa.schema(
    [
        ("order_id", pa.int64()),
        ("net_amount", pa.decimal128(12, 2)),
        ("email", pa.string()),
        ("order_date", pa.date32()),
        ("time_window_start", pa.timestamp("us", tz="UTC")),
        ("tags", pa.list_(pa.string())),
    ]
)


def test_creates_database_schema_and_table(cursor, schema_name):
    assert ensure_target(cursor, "SYNC", schema_name, "ORDERS", ORDERS) == []
    assert existing_columns(cursor, "SYNC", schema_name, "ORDERS") == {
        "order_id": "NUMBER(38,0)",
        "net_amount": "NUMBER(12,2)",
        "email": "VARCHAR",
        "order_date": "DATE",
        "time_window_start": "TIMESTAMP_TZ",
        "tags": "VARIANT",
    }


def test_adds_new_columns_and_keeps_old_ones(cursor, schema_name):
    ensure_target(cursor, "SYNC", schema_name, "ORDERS", ORDERS)
    wider = pa.schema([("order_id", pa.int32()), ("coupon", pa.string()), ("is_gift", pa.bool_())])

    assert ensure_target(cursor, "SYNC", schema_name, "ORDERS", wider) == ["coupon", "is_gift"]
    columns = existing_columns(cursor, "SYNC", schema_name, "ORDERS")
    assert list(columns)[-2:] == ["coupon", "is_gift"]
    assert columns["email"] == "VARCHAR"
    assert ensure_target(cursor, "SYNC", schema_name, "ORDERS", wider) == []


def test_incompatible_type_change_names_column_and_types(cursor, schema_name):
    ensure_target(cursor, "SYNC", schema_name, "ORDERS", ORDERS)
    changed = pa.schema([("order_date", pa.string())])
    with pytest.raises(WarehouseError) as caught:
        ensure_target(cursor, "SYNC", schema_name, "ORDERS", changed)
    assert str(caught.value) == (
        f"Column 'order_date' of SYNC.{schema_name}.ORDERS is DATE in Snowflake but the new data is VARCHAR; "
        "cast it back in the transform or migrate the table."
    )


def test_names_differing_only_in_case_are_refused(cursor, schema_name):
    with pytest.raises(WarehouseError, match=r"Columns \['ID', 'id'\] differ only in letter case"):
        ensure_target(cursor, "SYNC", schema_name, "ORDERS", pa.schema([("id", pa.int64()), ("ID", pa.int64())]))
