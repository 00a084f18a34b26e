"""Datasets that would share a table, a landing folder, a quarantine table or the ledger are refused, naming both."""

from __future__ import annotations

import pytest


def _two(first: str, second: str) -> str:
    return f"datasets:\n  orders: {{{first}}}\n  sales: {{{second}}}\n"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("load: {table: ORDERS}", "load: {table: orders}"),
        ("load: {table: ORDERS}", "warehouse: {database: analytics, schema: raw}, load: {table: Orders}"),
        ("warehouse: {connection: prod}, load: {table: ORDERS}", "load: {table: ORDERS}"),
    ],
)
def test_two_datasets_loading_the_same_table_are_refused(config_error, tmp_path, first, second):
    error = config_error(_two(f"source: {{path: /in/a}}, {first}", f"source: {{path: /in/b}}, {second}"))

    assert error.details == [
        f"{tmp_path / 'etl_config.yaml'}: dataset 'sales', field 'load.table': loads ANALYTICS.RAW.ORDERS, "
        "which dataset 'orders' loads too, so the code location would fail to load (duplicate asset key) and stop "
        "every dataset; give each dataset its own table."
    ]


def test_the_same_table_name_in_another_schema_is_fine(load_text):
    config = load_text(
        _two("source: {path: /in/a}, load: {table: ORDERS}",
             "source: {path: /in/b}, warehouse: {schema: STAGE}, load: {table: ORDERS}")
    )

    assert [dataset.asset_table_path for dataset in config.datasets.values()] == [
        ["snowflake", "analytics", "raw", "orders"], ["snowflake", "analytics", "stage", "orders"]
    ]


@pytest.mark.parametrize(
    ("first", "second", "shown"),
    [
        ("/in/orders", "/in/orders/", "/in/orders"),
        ("/in/orders", "/in/x/../orders", "/in/orders"),
        ("s3://bucket/in/orders/", "s3://bucket/in/orders", "s3://bucket/in/orders"),
        ("s3://bucket/in/orders", "s3://bucket//in/orders/", "s3://bucket/in/orders"),
    ],
)
def test_two_datasets_reading_the_same_landing_folder_are_refused(config_error, first, second, shown):
    error = config_error(_two(f"source: {{path: '{first}'}}, load: {{table: A}}",
                              f"source: {{path: '{second}'}}, load: {{table: B}}"))

    assert str(error).endswith(
        f"etl_config.yaml: dataset 'sales', field 'source.path': reads the landing folder {shown}, which dataset "
        "'orders' reads too, so each would take some of the other's files; give each dataset its own folder."
    )


def test_a_symlink_to_another_datasets_landing_folder_is_refused(config_error, tmp_path):
    (tmp_path / "orders").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "orders")

    error = config_error(_two(f"source: {{path: {tmp_path / 'orders'}}}, load: {{table: A}}",
                              f"source: {{path: {tmp_path / 'alias'}}}, load: {{table: B}}"))

    assert f"field 'source.path': reads the landing folder {tmp_path / 'orders'}, which dataset 'orders'" in str(error)


def test_different_folders_and_prefixes_are_fine(load_text):
    config = load_text(
        "datasets:\n"
        "  a: {source: {path: /in/orders}, load: {table: A}}\n"
        "  b: {source: {path: /in/orders/old}, load: {table: B}}\n"
        "  c: {source: {path: 's3://bucket/in/orders'}, load: {table: C}}\n"
        "  d: {source: {path: 's3://other/in/orders'}, load: {table: D}}\n"
    )

    assert len(config.datasets) == 4


def test_a_table_named_like_another_datasets_quarantine_is_refused(config_error, tmp_path):
    error = config_error(_two("source: {path: /in/a}, load: {table: SALES_QUARANTINE}",
                              "source: {path: /in/b}, load: {table: Sales}"))

    assert error.details == [
        f"{tmp_path / 'etl_config.yaml'}: dataset 'orders', field 'load.table': ANALYTICS.RAW.SALES_QUARANTINE "
        "is where dataset 'sales' keeps its quarantined rows, so each load would replace the other's rows there; "
        "choose another table name."
    ]


def test_a_quarantine_name_in_another_schema_is_fine(load_text):
    config = load_text(_two("source: {path: /in/a}, warehouse: {schema: STAGE}, load: {table: SALES_QUARANTINE}",
                            "source: {path: /in/b}, load: {table: SALES}"))

    assert config.datasets["orders"].load.table == "SALES_QUARANTINE"


def test_the_load_ledger_is_not_a_dataset_table(config_error, tmp_path):
    error = config_error("datasets:\n  orders: {source: {path: /in/a}, load: {table: etl_assets_loads}}\n")

    assert error.details == [
        f"{tmp_path / 'etl_config.yaml'}: dataset 'orders', field 'load.table': ANALYTICS.RAW.ETL_ASSETS_LOADS is "
        "the load ledger of every dataset in that schema, so loading rows there would corrupt it; "
        "choose another table name."
    ]
