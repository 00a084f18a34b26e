"""A small project in a temporary ETL_ASSETS_HOME: config, landing folder, and helpers to land files."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl_assets.config.loader import load_config
from etl_assets.config.models import ProjectConfig
from etl_assets.paths import ProjectPaths
from etl_assets_tests.project_config import write_project_config

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_data"


@dataclass
class ChainProject:
    paths: ProjectPaths
    config_path: Path

    @property
    def config(self) -> ProjectConfig:
        return load_config(self.config_path)

    def land(self, dataset: str, sample: str, arrived: dt.datetime, name: str | None = None) -> Path:
        """Copy a sample file into the dataset's landing folder with the given arrival time."""
        landing = self.paths.landing / dataset
        landing.mkdir(parents=True, exist_ok=True)
        target = landing / (name or sample)
        shutil.copyfile(SAMPLES / dataset / sample, target)
        os.utime(target, (arrived.timestamp(), arrived.timestamp()))
        return target


@pytest.fixture
def chain_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChainProject:
    home = tmp_path / "home"
    config_path = tmp_path / "etl_config.yaml"
    write_project_config(
        config_path,
        f"""
              orders:
                source: {{path: "{home}/landing/orders", pattern: "*.csv", format: csv}}
                transform:
                  columns:
                    order_id: {{from: Order ID, type: integer}}
                    email: {{from: Email, apply: [trim, lower]}}
                    status: {{from: Status, apply: [trim, lower]}}
                    gross_amount: {{from: Gross Amount, type: "decimal(12,2)"}}
                    discount: {{from: Discount, type: "decimal(12,2)"}}
                    net_amount: {{expr: "gross_amount - discount", type: "decimal(12,2)"}}
                  deduplicate_on: [order_id]
                load: {{table: ORDERS, strategy: merge, keys: [order_id]}}
              customers:
                source: {{path: "{home}/landing/customers", pattern: "*.csv"}}
                load: {{table: CUSTOMERS}}
        """,
    )
    monkeypatch.setenv("ETL_ASSETS_HOME", str(home))
    monkeypatch.setenv("ETL_ASSETS_CONFIG", str(config_path))
    return ChainProject(paths=ProjectPaths(home), config_path=config_path)


@pytest.fixture
def warehouse_connection(warehouse_connection):
    """The session emulator's connection, with the tables these tests load dropped first."""
    cursor = warehouse_connection.cursor()
    for table in ("ORDERS", "CUSTOMERS"):
        cursor.execute(f'DROP TABLE IF EXISTS "ANALYTICS"."RAW"."{table}"')
    return warehouse_connection
