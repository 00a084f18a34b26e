"""The keys a `references` rule checks against, read from the other dataset's table in the emulator."""

from __future__ import annotations

from etl_assets.config.models import DatasetConfig
from etl_assets.quality.references import loaded_keys


def customers(table: str) -> DatasetConfig:
    return DatasetConfig.model_validate(
        {"name": "customers", "source": {"path": "/x"}, "warehouse": {"database": "analytics", "schema": "refs"}, "load": {"table": table}}
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

