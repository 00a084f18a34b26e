"""The project's own etl_config.yaml loads, and its landing zones follow ETL_ASSETS_HOME."""

from __future__ import annotations

from pathlib import Path

from etl_assets.config.loader import load_config
from etl_assets.paths import HOME_ENV_VAR, ProjectPaths

PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "etl_config.yaml"


def test_project_config_declares_customers_orders_and_leads(tmp_path):
    config = load_config(PROJECT_CONFIG, environ={HOME_ENV_VAR: str(tmp_path)})
    customers, orders = config.datasets["customers"], config.datasets["orders"]

    assert set(config.datasets) == {"customers", "orders", "leads"}
    leads = config.datasets["leads"]
    assert (leads.transform.generator, leads.transform.llm.provider, leads.transform.llm.model) == ("llm", "bedrock", "amazon.nova-micro-v1:0")
    assert leads.transform.llm.share_samples is False
    assert customers.extends == orders.extends == "partner_csv"
    assert customers.source.format == orders.source.format == "csv"
    assert customers.source.partition_by == orders.source.partition_by == "arrival"
    assert customers.source.pattern == orders.source.pattern == "*.csv"
    assert customers.transform.columns["country"].apply == ["trim", "upper"]
    assert customers.transform.columns["signup_date"].type == "date"
    assert (customers.load.table, customers.load.strategy) == ("CUSTOMERS", "merge")
    assert customers.load.keys == ["customer_id"]
    assert (orders.load.table, orders.load.strategy, orders.load.keys) == ("ORDERS", "merge", ["order_id"])
    assert list(orders.transform.columns) == [
        "order_id", "customer_id", "email", "order_date", "status", "gross_amount", "discount", "net_amount"
    ]
    assert orders.transform.columns["net_amount"].expr == "gross_amount - discount"
    assert orders.transform.columns["net_amount"].type == "decimal(12,2)"
    assert orders.transform.deduplicate_on == ["order_id"]
    assert [(rule.rule, rule.severity, rule.action) for rule in orders.quality] == [
        ("not_null", "error", "fail"),
        ("unique", "error", "fail"),
        ("regex", "error", "quarantine"),
        ("range", "warn", "fail"),
    ]
    assert orders.asset_table_path == ["snowflake", "analytics", "raw", "orders"]
    assert orders.partitions.cadence == "daily"


def test_landing_follows_etl_assets_home(tmp_path):
    home = tmp_path / "home"

    config = load_config(PROJECT_CONFIG, environ={HOME_ENV_VAR: str(home)})

    assert config.datasets["orders"].source.path == str(ProjectPaths(home).landing / "orders")
    assert config.datasets["customers"].source.path == str(home / "landing" / "customers")


def test_landing_defaults_to_etl_assets_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    config = load_config(PROJECT_CONFIG, environ={})

    assert config.datasets["orders"].source.path == str(tmp_path / ".etl_assets" / "landing" / "orders")


def test_etl_landing_dir_overrides_the_landing_root(tmp_path):
    config = load_config(PROJECT_CONFIG, environ={HOME_ENV_VAR: str(tmp_path), "ETL_LANDING_DIR": "s3://bucket/in"})

    assert config.datasets["orders"].source.path == "s3://bucket/in/orders"
    assert config.datasets["orders"].source.is_s3
