"""The `marts:` section: marts declared by SQL or a function over loaded datasets, and one sentence per mistake."""

from __future__ import annotations

import pytest

from etl_assets.config.marts import import_function

DATASETS = """
version: 1
datasets:
  orders: {source: {path: /in/orders}, load: {table: ORDERS}}
  refunds: {source: {path: /in/refunds}, load: {table: REFUNDS}}
  hourly: {source: {path: /in/hourly}, partitions: {cadence: hourly}, load: {table: HOURLY}}
"""
WINDOWED = 'WHERE "time_window_start" >= {{window_start}} AND "time_window_start" < {{window_end}}'
PREFIX = "etl_config.yaml: field 'marts.revenue"


def with_marts(marts: str) -> str:
    return DATASETS + "marts:\n" + "\n".join("  " + line for line in marts.strip("\n").splitlines()) + "\n"


def revenue_function(orders, refunds):
    """Importable by the config tests as etl_assets_tests.config.test_marts:revenue_function."""
    return orders


def test_an_sql_mart_reads_one_source_or_several(load_text):
    config = load_text(with_marts(f"""
revenue:
  from: [orders, refunds]
  sql: SELECT COUNT(*) AS n FROM {{{{orders}}}} JOIN {{{{ refunds }}}} USING (id) {WINDOWED}
single: {{from: orders, sql: 'SELECT 1 AS one FROM {{{{orders}}}} {WINDOWED}', table: ONE, schema: REPORTS}}
"""))

    revenue, single = config.marts["revenue"], config.marts["single"]
    assert (revenue.from_, revenue.table_name, revenue.schema_, revenue.asset_key_path) == (["orders", "refunds"], "REVENUE", "MARTS", ["marts", "revenue"])
    assert (single.from_, single.table_name, single.schema_) == (["orders"], "ONE", "REPORTS")


def test_a_config_without_marts_has_none(load_text):
    assert load_text(DATASETS).marts == {}


def test_a_function_mart_names_an_importable_function(load_text):
    config = load_text(with_marts(f"revenue: {{from: [orders, refunds], function: '{__name__}:revenue_function'}}"))

    assert import_function(config.marts["revenue"].function) is revenue_function


def test_a_source_that_is_no_dataset_is_named(config_error):
    error = config_error(with_marts(f"revenue: {{from: [orders, payments], sql: 'SELECT 1 FROM {{{{orders}}}}, {{{{payments}}}} {WINDOWED}'}}"))

    assert str(error).endswith(f"{PREFIX}.from': names 'payments', which is not a dataset of this config; use one of orders, refunds, hourly.")


def test_sources_of_different_partitions_are_refused(config_error):
    error = config_error(with_marts(f"revenue: {{from: [orders, hourly], sql: 'SELECT 1 FROM {{{{orders}}}}, {{{{hourly}}}} {WINDOWED}'}}"))

    assert str(error).endswith(
        f"{PREFIX}.from': reads 'orders' and 'hourly', whose partitions differ, so their windows do not match; "
        "give the sources of one mart the same partitions."
    )


@pytest.mark.parametrize(
    ("mart", "problem"),
    [
        (
            f"{{from: orders, sql: 'SELECT 1 FROM {{{{orders}}}} {WINDOWED}', function: 'json:dumps'}}",
            "gives both sql and function; give exactly one: sql (a SELECT run in Snowflake) or function (package.module:function).",
        ),
        (
            "{from: orders}",
            "gives neither sql nor function; give exactly one: sql (a SELECT run in Snowflake) or function (package.module:function).",
        ),
    ],
)
def test_a_mart_gives_sql_or_function(config_error, mart, problem):
    assert str(config_error(with_marts(f"revenue: {mart}"))).endswith(f"{PREFIX}': {problem}")


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("no_such_module_here:build", "cannot import module 'no_such_module_here' (ModuleNotFoundError: No module named 'no_such_module_here'); make it importable where Dagster runs."),
        ("json:no_such_function", "module 'json' has no function 'no_such_function'; name a function defined there."),
        ("json.dumps", "got 'json.dumps'; write package.module:function."),
    ],
)
def test_a_function_that_cannot_be_imported_is_named(config_error, reference, problem):
    error = config_error(with_marts(f"revenue: {{from: orders, function: '{reference}'}}"))

    assert str(error).endswith(f"{PREFIX}.function': {problem}")


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        (
            f"SELECT 1 FROM {{{{order}}}} {WINDOWED}",
            "has the placeholder {{order}}, which is neither a dataset in `from` nor a window bound; use one of {{orders}}, {{window_start}}, {{window_end}}.",
        ),
        (f"SELECT 1 FROM ANALYTICS.RAW.ORDERS {WINDOWED}", "never reads {{orders}} although `from` lists it; read it or remove it from `from`."),
        ("SELECT 1 FROM {{orders}}", "reads neither {{window_start}} nor {{window_end}}, so every window would get the same rows; filter the sources by them."),
        (f"DELETE FROM {{{{orders}}}} {WINDOWED}", "must be one SELECT (or WITH ... SELECT) whose rows fill a window; the mart writes them itself."),
    ],
)
def test_sql_placeholders_are_checked(config_error, sql, problem):
    error = config_error(with_marts(f"revenue: {{from: orders, sql: '{sql}'}}"))

    assert str(error).endswith(f"{PREFIX}.sql': {problem}")


def test_a_mart_table_that_a_dataset_loads_is_refused(config_error):
    error = config_error(with_marts(f"revenue: {{from: orders, sql: 'SELECT 1 FROM {{{{orders}}}} {WINDOWED}', schema: RAW, table: refunds}}"))

    assert str(error).endswith(
        f"{PREFIX}.table': writes ANALYTICS.RAW.REFUNDS, which dataset 'refunds' loads, so each would overwrite the "
        "other's rows; choose another table or schema."
    )


def test_two_marts_writing_one_table_are_refused(config_error):
    error = config_error(with_marts(f"""
revenue: {{from: orders, sql: 'SELECT 1 FROM {{{{orders}}}} {WINDOWED}', table: TOTALS}}
totals: {{from: refunds, sql: 'SELECT 1 FROM {{{{refunds}}}} {WINDOWED}'}}
"""))

    assert str(error).endswith(
        "etl_config.yaml: field 'marts.totals.table': writes ANALYTICS.MARTS.TOTALS, which mart 'revenue' writes too; "
        "give each mart its own table."
    )


@pytest.mark.parametrize(
    ("mart", "problem"),
    [
        ("Revenue: {from: orders, function: 'json:dumps'}", "field 'marts.Revenue': the name 'Revenue' is not a mart name; use lower-case letters, digits and underscores, starting with a letter."),
        ("revenue: {name: x, from: orders, function: 'json:dumps'}", "field 'marts.revenue.name': a mart is named by its key under `marts`; remove this field."),
        ("revenue: {from: orders, function: 'json:dumps', table: T}", "field 'marts.revenue': table and schema name the table an sql mart writes, and a function mart writes none; remove them."),
        ("revenue: SELECT 1", "field 'marts.revenue': got 'SELECT 1'; a mart is a mapping with `from` and either `sql` or `function`."),
        ("revenue: {from: orders, function: 'json:dumps', sqll: x}", "field 'marts.revenue': unknown key 'sqll'; allowed: description, from, sql, function, table, schema."),
    ],
)
def test_a_malformed_mart_is_one_sentence(config_error, mart, problem):
    assert str(config_error(with_marts(mart))).endswith(f"/etl_config.yaml: {problem}")
