"""A bad etl_config.yaml gives one ConfigError naming the file, the dataset and the field, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_assets.config.loader import load_config
from etl_assets.config.problems import ConfigFileError
from etl_assets.errors import ConfigError, EtlAssetsError

VALID_ORDERS = "orders: {source: {path: /x}, load: {table: ORDERS}}"


def test_missing_file_names_it_and_the_env_var(tmp_path):
    missing = tmp_path / "nowhere.yaml"

    with pytest.raises(ConfigFileError) as caught:
        load_config(missing, environ={})

    assert str(caught.value).startswith(f"{missing}: no such file")
    assert "ETL_ASSETS_CONFIG" in str(caught.value)
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, EtlAssetsError)


def test_yaml_syntax_error_names_file_and_line(config_error, tmp_path):
    error = config_error("datasets:\n  orders:\n    source: {path: /x\n    load: {table: ORDERS}\n")

    assert str(error).startswith(f"{tmp_path / 'etl_config.yaml'}, line ")
    assert "invalid YAML" in str(error)


def test_yaml_syntax_error_points_at_the_right_line(config_error):
    error = config_error("version: 1\ndatasets:\n  orders:\n    source: x: y\n")

    assert "etl_config.yaml, line 4, column 14: invalid YAML (mapping values are not allowed here)" in str(error)


def test_a_key_given_twice_is_an_error_not_a_silent_overwrite(config_error):
    error = config_error(f"datasets:\n  {VALID_ORDERS}\n  {VALID_ORDERS}\n")

    expected = "etl_config.yaml, line 3, column 3: invalid YAML (key 'orders' appears twice in the same mapping"
    assert expected in str(error)


@pytest.mark.parametrize(("text", "held"), [("", "nothing"), ("- a\n- b\n", "a list"), ("just text\n", "a str")])
def test_a_file_that_is_not_a_mapping_is_rejected(config_error, text, held):
    error = config_error(text)

    assert f"etl_config.yaml: must hold a mapping with at least a `datasets:` key, but holds {held}" in str(error)


def test_unknown_top_level_key_lists_the_allowed_ones(config_error):
    error = config_error(f"dataset:\n  {VALID_ORDERS}\n")

    assert str(error).endswith(
        "etl_config.yaml: unknown key 'dataset'; allowed: version, variables, defaults, templates, datasets, marts, alerts."
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 1\n", "field 'datasets': required but missing"),
        ("datasets:\n", "field 'datasets': got None"),
        ("datasets: {}\n", "field 'datasets': is empty; declare at least one dataset."),
        ("datasets: [orders]\n", "field 'datasets': got ['orders']"),
    ],
)
def test_datasets_must_be_a_non_empty_mapping(config_error, text, problem):
    assert f"etl_config.yaml: {problem}" in str(config_error(text))


def test_bad_version_names_the_field_without_a_dataset(config_error):
    error = config_error(f"version: 2\ndatasets:\n  {VALID_ORDERS}\n")

    assert str(error).endswith("etl_config.yaml: field 'version': got 2; allowed: 1.")


def test_bad_strategy_names_file_dataset_field_and_choices(config_error):
    error = config_error("datasets:\n  orders: {source: {path: /x}, load: {table: ORDERS, strategy: upsert}}\n")

    assert str(error).endswith(
        "etl_config.yaml: dataset 'orders', field 'load.strategy': got 'upsert'; "
        "allowed: append, merge, truncate_insert, replace_window."
    )
    assert error.details == [str(error)]


def test_unknown_key_in_a_dataset_lists_the_allowed_ones(config_error):
    error = config_error("datasets:\n  orders: {sources: {path: /x}, load: {table: ORDERS}}\n")

    assert str(error).endswith(
        "etl_config.yaml: dataset 'orders': unknown key 'sources'; allowed: description, extends, source, "
        "partitions, warehouse, transform, quality, load, schedule, freshness, compliance."
    )


def test_unknown_key_in_a_section_names_the_section(config_error):
    error = config_error("datasets:\n  orders: {source: {path: /x}, load: {table: ORDERS, stratgy: merge}}\n")

    assert str(error).endswith(
        "etl_config.yaml: dataset 'orders', field 'load': unknown key 'stratgy'; allowed: table, strategy, keys, sequence_by, retry."
    )


def test_missing_required_field_is_named(config_error):
    error = config_error("datasets:\n  orders: {source: {path: /x}, load: {strategy: merge}}\n")

    assert str(error).endswith("etl_config.yaml: dataset 'orders', field 'load.table': required but missing; add it.")


def test_several_problems_show_the_first_and_keep_all_in_details(config_error):
    error = config_error(
        """
        datasets:
          orders:
            source: {path: /x, format: xml}
            partitions: {cadence: yearly, timezone: Mars/Olympus}
            load: {table: ORDERS}
        """
    )

    assert len(error.details) == 3
    assert str(error) == f"{error.details[0].rstrip('.')} (and 2 more)."
    assert "dataset 'orders', field 'source.format': got 'xml'; allowed: csv, tsv, json, jsonl, parquet, xlsx, auto." in (
        error.details[0]
    )
    assert "field 'partitions.cadence': got 'yearly'; allowed: hourly, daily, weekly, monthly." in error.details[1]
    assert "field 'partitions.timezone': unknown time zone 'Mars/Olympus'" in error.details[2]


def test_bad_identifiers_say_what_is_allowed(config_error):
    error = config_error(
        """
        datasets:
          Orders:
            source: {path: /x}
            transform: {columns: {Order ID: {from: x}}}
            load: {table: my-table}
        """
    )

    assert "etl_config.yaml: dataset 'Orders': got 'Orders'; a dataset name uses lower-case letters" in error.details[0]
    assert any(
        "dataset 'Orders', field 'transform.columns.Order ID': got 'Order ID'; use letters, digits and underscores"
        in detail
        for detail in error.details
    )
    assert any("field 'load.table': got 'my-table'; use letters, digits and underscores" in d for d in error.details)


def test_bad_column_type_and_date_are_explained(config_error):
    error = config_error(
        """
        datasets:
          orders:
            source: {path: /x}
            partitions: {start: someday}
            transform: {columns: {amount: {from: Amount, type: money}}}
            load: {table: ORDERS}
        """
    )

    expected = "field 'partitions.start': got 'someday'; use a date such as 2026-01-01"
    assert any(expected in detail for detail in error.details)
    assert any(
        "field 'transform.columns.amount.type': unknown type 'money'; use one of string" in detail
        for detail in error.details
    )


def test_unquoted_decimal_in_a_flow_mapping_says_to_quote_it(config_error):
    error = config_error(
        "datasets:\n  orders:\n    source: {path: /x}\n"
        "    transform: {columns: {net: {expr: a - b, type: decimal(12,2)}}}\n"
        "    load: {table: ORDERS}\n"
    )

    assert str(error).endswith(
        "dataset 'orders', field 'transform.columns.net': YAML split the type decimal(12,2) at its comma inside {...}; "
        'quote it: type: "decimal(12,2)".'
    )


def test_partition_by_column_is_accepted(tmp_path):
    path = tmp_path / "etl_config.yaml"
    path.write_text("datasets:\n  orders: {source: {path: /x, partition_by: {column: Order Date}}, load: {table: ORDERS}}\n")

    assert load_config(path).datasets["orders"].source.partition_by.column == "Order Date"


@pytest.mark.parametrize(
    ("partition_by", "problem"),
    [
        ("daily", "got 'daily'; use arrival, {filename: REGEX with (?P<date>...)} or {column: NAME}."),
        ("{filename: 'orders_\\d+'}", "needs a named group (?P<date>...)."),
        ("{filename: 'orders_(?P<day>\\d+)'}", "needs a named group (?P<date>...)."),
        ("{filename: '(?P<date>'}", "is not a valid RE2 regular expression (missing ): (?P<date>); RE2 runs in linear"),
        (
            "{filename: '(?=orders)(?P<date>\\d+)'}",
            "is not a valid RE2 regular expression (invalid perl operator: (?=); RE2 runs in linear time and has no "
            "lookarounds or backreferences, so rewrite the pattern without them.",
        ),
        ("{filename: '(?P<date>\\d+)_(?P=date)'}", "is not a valid RE2 regular expression (invalid perl operator: (?P); RE2 runs"),
    ],
)
def test_bad_partition_by_reports_only_the_form_it_looks_like(config_error, partition_by, problem):
    error = config_error(
        f"datasets:\n  orders: {{source: {{path: /x, partition_by: {partition_by}}}, load: {{table: ORDERS}}}}\n"
    )

    assert len(error.details) == 1
    assert "etl_config.yaml: dataset 'orders', field 'source.partition_by': " in str(error)
    assert problem in str(error)


def test_unknown_template_lists_the_known_ones(config_error):
    error = config_error(
        f"templates: {{csv_feed: {{}}, json_feed: {{}}}}\ndatasets:\n  orders: {{extends: csv, {VALID_ORDERS[9:]}\n"
    )

    assert str(error).endswith(
        "etl_config.yaml: dataset 'orders', field 'extends': there is no template 'csv'; "
        "known templates: csv_feed, json_feed."
    )


def test_templates_extending_each_other_in_a_cycle_fail(config_error):
    error = config_error(
        """
        templates:
          a: {extends: b}
          b: {extends: c}
          c: {extends: a}
        datasets:
          orders: {extends: a, source: {path: /x}, load: {table: ORDERS}}
        """
    )

    assert str(error).endswith(
        "etl_config.yaml: template 'c', field 'extends': templates extend each other in a cycle (a -> b -> c -> a); "
        "remove one of these `extends`."
    )


def test_a_template_that_is_not_a_mapping_is_rejected(config_error):
    error = config_error(f"templates: {{feed: csv}}\ndatasets:\n  {VALID_ORDERS}\n")

    assert "etl_config.yaml: template 'feed': got 'csv'; a template is a mapping of dataset settings." in str(error)


def test_a_dataset_cannot_set_its_own_name(config_error):
    error = config_error("datasets:\n  orders: {name: sales, source: {path: /x}, load: {table: ORDERS}}\n")

    expected = "etl_config.yaml: dataset 'orders', field 'name': a dataset is named by its key under `datasets`"
    assert expected in str(error)


def test_a_dataset_that_is_not_a_mapping_is_rejected(config_error):
    error = config_error("datasets:\n  orders:\n")

    assert "etl_config.yaml: dataset 'orders': got None; a dataset is a mapping with at least `source` and `load`." in (
        str(error)
    )


def test_defaults_must_be_a_mapping(config_error):
    error = config_error(f"defaults: [a]\ndatasets:\n  {VALID_ORDERS}\n")

    assert "etl_config.yaml: field 'defaults': got ['a']; it must be a mapping" in str(error)


def test_an_unreadable_path_is_reported_not_raised_raw(tmp_path: Path):
    with pytest.raises(ConfigFileError) as caught:
        load_config(tmp_path, environ={})

    assert str(caught.value).startswith(f"{tmp_path}: cannot be read")
