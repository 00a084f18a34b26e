"""A dataset's target and ledger names, as every command and asset shows them."""

from __future__ import annotations


def test_target_and_ledger_names_are_database_schema_table_as_typed(load_text):
    config = load_text(
        "datasets:\n"
        "  orders: {source: {path: /in/a}, warehouse: {database: Sales, schema: stage}, load: {table: Orders}}\n"
        "  events: {source: {path: /in/b}, load: {table: EVENTS}}\n"
    )
    orders, events = config.datasets["orders"], config.datasets["events"]

    assert (orders.target_name, orders.ledger_name) == ("Sales.stage.Orders", "Sales.stage.ETL_ASSETS_LOADS")
    assert (events.target_name, events.ledger_name) == ("ANALYTICS.RAW.EVENTS", "ANALYTICS.RAW.ETL_ASSETS_LOADS")
