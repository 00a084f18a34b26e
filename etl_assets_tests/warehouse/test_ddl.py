"""Schema sync against the real emulator."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest

from etl_assets.warehouse.ddl import SchemaChanges, ensure_target, existing_columns
from etl_assets.warehouse.errors import PermanentWarehouseError

pytestmark = pytest.mark.integration


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
    assert ensure_target(cursor, "SYNC", schema_name, "ORDERS", ORDERS) == SchemaChanges(created=True)
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

    assert ensure_target(cursor, "SYNC", schema_name, "ORDERS", wider).added == ["coupon", "is_gift"]
    columns = existing_columns(cursor, "SYNC", schema_name, "ORDERS")
    assert list(columns)[-2:] == ["coupon", "is_gift"]
    assert columns["email"] == "VARCHAR"
    assert ensure_target(cursor, "SYNC", schema_name, "ORDERS", wider) == SchemaChanges()


def test_incompatible_type_change_names_column_and_types(cursor, schema_name):
    ensure_target(cursor, "SYNC", schema_name, "ORDERS", ORDERS)
    changed = pa.schema([("order_date", pa.string())])
    with pytest.raises(PermanentWarehouseError) as caught:
        ensure_target(cursor, "SYNC", schema_name, "ORDERS", changed)
    assert str(caught.value) == (
        f"Column 'order_date' of SYNC.{schema_name}.ORDERS is DATE in Snowflake but the new data is VARCHAR; "
        "cast it back to DATE in the transform, or migrate the table's column to VARCHAR before loading."
    )


def test_names_differing_only_in_case_are_refused(cursor, schema_name):
    with pytest.raises(PermanentWarehouseError, match=r"Columns \['ID', 'id'\] differ only in letter case"):
        ensure_target(cursor, "SYNC", schema_name, "ORDERS", pa.schema([("id", pa.int64()), ("ID", pa.int64())]))


def create_table(cursor, schema_name: str, columns: str) -> None:
    cursor.execute('CREATE DATABASE IF NOT EXISTS "SYNC"')
    cursor.execute(f'CREATE SCHEMA "SYNC"."{schema_name}"')
    cursor.execute(f'CREATE TABLE "SYNC"."{schema_name}"."ORDERS" ({columns})')


def test_short_varchar_and_small_number_are_widened_in_place(cursor, schema_name):
    create_table(cursor, schema_name, '"code" VARCHAR(5), "amount" NUMBER(10,2), "qty" NUMBER(9,0)')
    cursor.execute(f"""INSERT INTO "SYNC"."{schema_name}"."ORDERS" VALUES ('ab', 12.5, 3)""")
    incoming = pa.schema([("code", pa.string()), ("amount", pa.decimal128(14, 2)), ("qty", pa.int64())])

    changes = ensure_target(cursor, "SYNC", schema_name, "ORDERS", incoming)

    assert changes.widened == {
        "code": ("VARCHAR(5)", "VARCHAR"),
        "amount": ("NUMBER(10,2)", "NUMBER(14,2)"),
        "qty": ("NUMBER(9,0)", "NUMBER(38,0)"),
    }
    assert existing_columns(cursor, "SYNC", schema_name, "ORDERS") == {
        "code": "VARCHAR",
        "amount": "NUMBER(14,2)",
        "qty": "NUMBER(38,0)",
    }
    cursor.execute(f'SELECT "code", "amount", "qty" FROM "SYNC"."{schema_name}"."ORDERS"')
    assert [tuple(map(str, row)) for row in cursor.fetchall()] == [("ab", "12.50", "3")]
    assert ensure_target(cursor, "SYNC", schema_name, "ORDERS", incoming) == SchemaChanges()


def test_narrower_incoming_types_need_no_change(cursor, schema_name):
    create_table(cursor, schema_name, '"code" VARCHAR, "amount" NUMBER(14,2)')
    incoming = pa.schema([("code", pa.string()), ("amount", pa.decimal128(8, 1))])
    assert ensure_target(cursor, "SYNC", schema_name, "ORDERS", incoming) == SchemaChanges()


@pytest.mark.parametrize(
    ("existing", "arrow_type", "old", "new"),
    [
        ('"c" VARCHAR(20)', pa.int64(), "VARCHAR(20)", "NUMBER(38,0)"),
        ('"c" DATE', pa.int64(), "DATE", "NUMBER(38,0)"),
        ('"c" NUMBER(12,2)', pa.decimal128(12, 4), "NUMBER(12,2)", "NUMBER(12,4)"),
        ('"c" NUMBER(38,2)', pa.int64(), "NUMBER(38,2)", "NUMBER(38,0)"),
    ],
)
def test_incompatible_changes_are_refused_and_the_table_is_untouched(
    cursor, schema_name, existing, arrow_type, old, new
):
    create_table(cursor, schema_name, existing)
    with pytest.raises(PermanentWarehouseError) as caught:
        ensure_target(cursor, "SYNC", schema_name, "ORDERS", pa.schema([("c", arrow_type), ("added", pa.string())]))
    expected = f"Column 'c' of SYNC.{schema_name}.ORDERS is {old} in Snowflake but the new data is {new};"
    assert str(caught.value).startswith(expected)
    assert existing_columns(cursor, "SYNC", schema_name, "ORDERS") == {"c": old}


@pytest.mark.integration
def test_known_columns_that_hold_the_rows_spare_every_statement(warehouse_connection):
    # a range's later windows pass the columns the earlier ones left; a missing table shows nothing was asked
    from etl_assets.warehouse.ddl import ensure_target

    schema = pa.schema([("order_id", pa.int64()), ("email", pa.string())])
    known = {"order_id": "NUMBER(38,0)", "email": "VARCHAR"}
    cursor = warehouse_connection.cursor()

    assert ensure_target(cursor, "DDL_KNOWN", "RAW", "NEVER_MADE", schema, known) == SchemaChanges()
    assert "DDL_KNOWN" not in [row[1] for row in cursor.execute("SHOW DATABASES").fetchall()]
    changes = ensure_target(cursor, "DDL_KNOWN", "RAW", "NEVER_MADE", schema.append(pa.field("note", pa.string())), known)
    assert changes.created, "a column the known ones lack sends it the whole way"
