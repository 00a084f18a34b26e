"""A hashed column loaded into a table whose column has another type: the schema sync says it is the mask."""

from __future__ import annotations

import pyarrow as pa
import pytest

from etl_assets.compliance.marks import marked
from etl_assets.warehouse.ddl import ensure_target
from etl_assets.warehouse.errors import PermanentWarehouseError

pytestmark = pytest.mark.integration


def test_a_hashed_column_meeting_a_number_column_names_the_mask_and_the_way_out(warehouse_connection):
    cursor = warehouse_connection.cursor()
    cursor.execute('CREATE DATABASE IF NOT EXISTS "ANALYTICS"')
    cursor.execute('CREATE SCHEMA IF NOT EXISTS "ANALYTICS"."RAW"')
    cursor.execute('CREATE OR REPLACE TABLE "ANALYTICS"."RAW"."MASKED_IDS" ("customer_id" NUMBER(38,0), "plan" VARCHAR)')
    hashed = pa.schema([marked(pa.field("customer_id", pa.string()), "hash"), pa.field("plan", pa.string())])
    with pytest.raises(PermanentWarehouseError) as refused:
        ensure_target(cursor, "ANALYTICS", "RAW", "MASKED_IDS", hashed)
    message = str(refused.value)
    assert "'customer_id'" in message and "NUMBER(38,0)" in message and "compliance.mask hashes it" in message
    assert "cast it back" not in message

    plain = pa.schema([pa.field("customer_id", pa.string()), pa.field("plan", pa.string())])
    with pytest.raises(PermanentWarehouseError, match="cast it back"):
        ensure_target(cursor, "ANALYTICS", "RAW", "MASKED_IDS", plain)
    cursor.execute('DROP TABLE "ANALYTICS"."RAW"."MASKED_IDS"')
