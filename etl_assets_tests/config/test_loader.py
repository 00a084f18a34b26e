"""Loading etl_config.yaml: the documented shape (docs/architecture.md §2), defaults, templates, paths and where the file is found."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from etl_assets.config.loader import CONFIG_ENV_VAR, default_config_path, load_config
from etl_assets.config.models import FilenamePartitioning

FULL_EXAMPLE = r"""
version: 1
variables:
  landing: ${ENV:ETL_LANDING_DIR:.etl_assets/landing}
defaults:
  partitions: {cadence: daily, start: "2026-01-01", timezone: UTC}
  warehouse: {connection: local, database: ANALYTICS, schema: RAW}
  load: {strategy: merge}
templates:
  partner_feed: {source: {format: csv, partition_by: arrival}, load: {strategy: merge}}
datasets:
  orders:
    extends: partner_feed
    description: Orders exported nightly by the shop
    source:
      path: ${variables.landing}/orders
      pattern: "*.csv"
      format: auto
      partition_by: arrival
    transform:
      generator: template
      requirements: Lower-case emails; net = gross - discount
      columns:
        order_id: {from: Order ID, type: integer}
        email: {from: Email, type: string, apply: [trim, lower]}
        order_date: {from: Order Date, type: date}
        # the full example's rules use these two, so validation requires them declared
        status: {from: Status}
        customer_id: {from: Customer ID, type: integer}
        net_amount: {expr: "gross_amount - discount", type: "decimal(12, 2)"}
      deduplicate_on: [order_id]
    quality:
      - {rule: not_null, column: order_id, severity: error}
      - {rule: unique, columns: [order_id], severity: error}
      - {rule: regex, column: email, pattern: '^[^@\s]+@[^@\s]+\.[a-z]+$', action: quarantine}
      - {rule: range, column: net_amount, min: 0, max: 1000000, severity: warn}
      - {rule: accepted_values, column: status, values: [paid, shipped, refunded, cancelled]}
      - {rule: references, column: customer_id, dataset: customers, key: customer_id}
      - {rule: row_count, min: 1}
    load:
      table: ORDERS
      strategy: merge
      keys: [order_id]
  customers:
    source: {path: /landing/customers}
    load: {table: CUSTOMERS}
"""

MINIMAL = """
datasets:
  events:
    source: {path: /data/events}
    load: {table: EVENTS}
"""


def test_design_example_loads(load_text, tmp_path):
    config = load_text(FULL_EXAMPLE, {"ETL_LANDING_DIR": str(tmp_path / "landing")})

    orders = config.datasets["orders"]
    assert config.version == 1
    assert config.source_file == tmp_path / "etl_config.yaml"
    assert orders.name == "orders"
    assert orders.extends == "partner_feed"
    assert orders.source.path == str(tmp_path / "landing" / "orders")
    assert orders.source.format == "auto"
    assert orders.source.partition_by == "arrival"
    assert orders.transform.columns["email"].apply == ["trim", "lower"]
    assert orders.transform.columns["order_id"].from_ == "Order ID"
    assert orders.transform.columns["net_amount"].type == "decimal(12,2)"
    assert [rule.rule for rule in orders.quality] == [
        "not_null", "unique", "regex", "range", "accepted_values", "references", "row_count"
    ]
    assert orders.quality[2].action == "quarantine"
    assert orders.quality[2].pattern == r"^[^@\s]+@[^@\s]+\.[a-z]+$"
    assert orders.load.keys == ["order_id"]
    assert orders.asset_table_path == ["snowflake", "analytics", "raw", "orders"]


def test_dataset_with_only_source_and_table_gets_the_defaults(load_text):
    events = load_text(MINIMAL).datasets["events"]

    assert events.partitions.cadence == "daily"
    assert events.partitions.start == dt.date(2026, 1, 1)
    assert events.partitions.timezone == "UTC"
    assert (events.warehouse.database, events.warehouse.schema_) == ("ANALYTICS", "RAW")
    assert events.load.strategy == "merge"
    assert events.load.keys is None
    assert events.source.format == "auto"
    assert events.source.partition_by == "arrival"
    assert events.transform is None
    assert events.extends is None


def test_defaults_merge_deeply_under_every_dataset_and_lists_are_replaced(load_text):
    config = load_text(
        """
        defaults:
          warehouse: {database: SALES, schema: STAGE}
          load: {strategy: append, keys: [id, day]}
          partitions: {cadence: hourly}
        datasets:
          a:
            source: {path: /data/a}
            warehouse: {schema: GOLD}
            load: {table: A, keys: [id]}
          b:
            source: {path: /data/b}
            load: {table: B}
        """
    )
    a, b = config.datasets["a"], config.datasets["b"]

    assert (a.warehouse.database, a.warehouse.schema_) == ("SALES", "GOLD")
    assert (a.load.strategy, a.load.keys) == ("append", ["id"])
    assert (b.warehouse.database, b.warehouse.schema_) == ("SALES", "STAGE")
    assert b.load.keys == ["id", "day"]
    assert a.partitions.cadence == b.partitions.cadence == "hourly"


def test_extends_chain_layers_defaults_then_templates_then_dataset(load_text):
    config = load_text(
        r"""
        defaults:
          load: {strategy: append}
          source: {pattern: "*.txt", format: tsv}
        templates:
          base:
            source: {format: csv, pattern: "*.csv"}
            warehouse: {schema: BASE}
          partner:
            extends: base
            source: {partition_by: {filename: '(?P<date>\d{8})'}}
            warehouse: {schema: PARTNER}
            load: {strategy: replace_window}
        datasets:
          feed:
            extends: partner
            source: {path: /data/feed, pattern: "feed_*.csv"}
            load: {table: FEED}
        """
    )
    feed = config.datasets["feed"]

    assert feed.extends == "partner"
    assert feed.source.format == "csv"
    assert feed.source.pattern == "feed_*.csv"
    assert feed.source.partition_by == FilenamePartitioning(filename=r"(?P<date>\d{8})")
    assert feed.warehouse.schema_ == "PARTNER"
    assert feed.load.strategy == "replace_window"


def test_extends_given_in_defaults_applies_to_every_dataset(load_text):
    config = load_text(
        """
        defaults: {extends: feed}
        templates:
          feed: {source: {format: jsonl}}
        datasets:
          a: {source: {path: /a}, load: {table: A}}
        """
    )

    assert config.datasets["a"].source.format == "jsonl"
    assert config.datasets["a"].extends == "feed"


def test_relative_local_path_is_resolved_from_the_working_directory(load_text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_text(
        """
        datasets:
          rel: {source: {path: landing/rel}, load: {table: REL}}
          absolute: {source: {path: /srv/landing/abs}, load: {table: ABS}}
          bucket: {source: {path: "s3://bucket/prefix/"}, load: {table: BUCKET}}
        """
    )

    assert config.datasets["rel"].source.path == str(tmp_path / "landing" / "rel")
    assert config.datasets["absolute"].source.path == "/srv/landing/abs"
    assert config.datasets["bucket"].source.path == "s3://bucket/prefix/"
    assert config.datasets["bucket"].source.is_s3


def test_config_env_var_chooses_the_file(write_config, tmp_path):
    path = write_config(MINIMAL, name="elsewhere.yaml")

    config = load_config(environ={CONFIG_ENV_VAR: str(path)})

    assert config.source_file == path
    assert default_config_path({CONFIG_ENV_VAR: str(path)}) == path


def test_config_env_var_is_read_from_the_process_environment(write_config, monkeypatch):
    path = write_config(MINIMAL, name="from_env.yaml")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))

    assert default_config_path() == path
    assert set(load_config().datasets) == {"events"}


def test_without_the_env_var_the_file_is_etl_config_yaml_in_the_working_directory(write_config, tmp_path, monkeypatch):
    write_config(MINIMAL)
    monkeypatch.chdir(tmp_path)

    assert default_config_path({}) == Path("etl_config.yaml")
    assert load_config(environ={}).source_file == tmp_path / "etl_config.yaml"


@pytest.mark.parametrize("value", ["", None])
def test_an_empty_config_env_var_counts_as_unset(value):
    environ = {} if value is None else {CONFIG_ENV_VAR: value}

    assert default_config_path(environ) == Path("etl_config.yaml")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ('"2026-03-01"', dt.date(2026, 3, 1)),
        ("2026-03-01", dt.date(2026, 3, 1)),
        ('"2026-03-01T06:00"', dt.datetime(2026, 3, 1, 6)),
    ],
)
def test_partition_start_accepts_dates_and_times(load_text, start, expected):
    config = load_text(
        f"datasets:\n  a: {{source: {{path: /a}}, partitions: {{start: {start}}}, load: {{table: A}}}}\n"
    )

    assert config.datasets["a"].partitions.start == expected


def test_yaml_anchors_and_merge_keys_still_work(load_text):
    config = load_text(
        """
        datasets:
          a: &base {source: &source {path: /a, format: csv}, load: {table: A}}
          b:
            <<: *base
            source: {<<: *source, path: /b}
            load: {table: B}
        """
    )

    assert config.datasets["b"].source.format == "csv"
    assert (config.datasets["b"].source.path, config.datasets["b"].load.table) == ("/b", "B")
