"""The keys a `references` rule checks against, read from the other dataset's table in the emulator."""

from __future__ import annotations

import pytest
import snowflake.connector

from etl_assets.config.models import DatasetConfig
from etl_assets.errors import WarehouseError
from etl_assets.quality.references import loaded_keys

pytestmark = pytest.mark.integration


def customers(table: str, database: str = "analytics") -> DatasetConfig:
    return DatasetConfig.model_validate(
        {"name": "customers", "source": {"path": "/x"}, "warehouse": {"database": database, "schema": "refs"}, "load": {"table": table}}
    )


def test_the_distinct_keys_of_the_other_datasets_table(warehouse_connection):
    cursor = warehouse_connection.cursor()
    cursor.execute('CREATE DATABASE IF NOT EXISTS "ANALYTICS"')
    cursor.execute('CREATE SCHEMA IF NOT EXISTS "ANALYTICS"."REFS"')
    cursor.execute('CREATE OR REPLACE TABLE "ANALYTICS"."REFS"."CUSTOMERS" ("id" INTEGER, "name" VARCHAR)')
    cursor.execute("""INSERT INTO "ANALYTICS"."REFS"."CUSTOMERS" VALUES (1, 'a'), (2, 'b'), (2, 'c'), (NULL, 'd')""")

    keys = loaded_keys(warehouse_connection, customers("customers"), "id")

    assert keys is not None and keys.column_names == ["id"]
    assert sorted(keys.column("id").to_pylist(), key=str) == [1, 2, None]



def test_no_keys_when_the_table_does_not_exist_on_a_session_without_a_current_database(emulator):
    # the local connection names no database, and a vault profile's may be another than the dataset's
    with snowflake.connector.connect(**emulator.connection_args()) as connection:
        assert loaded_keys(connection, customers("never_loaded"), "id") is None
        assert loaded_keys(connection, customers("customers", database="never_created"), "id") is None


def test_the_table_is_found_in_its_own_database_whatever_the_sessions_current_one(warehouse_connection):
    cursor = warehouse_connection.cursor()
    cursor.execute('CREATE DATABASE IF NOT EXISTS "OTHER_DB"')
    cursor.execute('CREATE SCHEMA IF NOT EXISTS "OTHER_DB"."REFS"')
    cursor.execute('CREATE OR REPLACE TABLE "OTHER_DB"."REFS"."CUSTOMERS" ("id" INTEGER)')
    cursor.execute('INSERT INTO "OTHER_DB"."REFS"."CUSTOMERS" VALUES (7)')
    cursor.execute('CREATE DATABASE IF NOT EXISTS "ANALYTICS"')
    cursor.execute('USE DATABASE "ANALYTICS"')

    keys = loaded_keys(warehouse_connection, customers("customers", database="other_db"), "id")

    assert keys is not None and keys.column("id").to_pylist() == [7]


def test_a_refused_read_is_one_sentence_in_a_project_error(warehouse_connection):
    cursor = warehouse_connection.cursor()
    cursor.execute('CREATE DATABASE IF NOT EXISTS "ANALYTICS"')
    cursor.execute('CREATE SCHEMA IF NOT EXISTS "ANALYTICS"."REFS"')
    cursor.execute('CREATE OR REPLACE TABLE "ANALYTICS"."REFS"."CUSTOMERS" ("id" INTEGER)')

    with pytest.raises(WarehouseError, match=r"^Reading the keys of analytics\.refs\.customers failed"):
        loaded_keys(warehouse_connection, customers("customers"), "no_such_column")
