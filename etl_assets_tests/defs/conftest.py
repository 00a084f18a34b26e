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


def project_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, datasets: str) -> ChainProject:
    """A project in `tmp_path`: its config of `datasets` (YAML, `{home}` standing for ETL_ASSETS_HOME), pointed at
    by ETL_ASSETS_CONFIG, and its home."""
    home = tmp_path / "home"
    config_path = write_project_config(tmp_path / "etl_config.yaml", datasets.replace("{home}", str(home)))
    monkeypatch.setenv("ETL_ASSETS_HOME", str(home))
    monkeypatch.setenv("ETL_ASSETS_CONFIG", str(config_path))
    return ChainProject(paths=ProjectPaths(home), config_path=config_path)


@pytest.fixture
def chain_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChainProject:
    return project_with(
        tmp_path,
        monkeypatch,
        """
              orders:
                source: {path: "{home}/landing/orders", pattern: "*.csv", format: csv}
                transform:
                  columns:
                    order_id: {from: Order ID, type: integer}
                    email: {from: Email, apply: [trim, lower]}
                    status: {from: Status, apply: [trim, lower]}
                    gross_amount: {from: Gross Amount, type: "decimal(12,2)"}
                    discount: {from: Discount, type: "decimal(12,2)"}
                    net_amount: {expr: "gross_amount - discount", type: "decimal(12,2)"}
                  deduplicate_on: [order_id]
                load: {table: ORDERS, strategy: merge, keys: [order_id]}
              customers:
                source: {path: "{home}/landing/customers", pattern: "*.csv"}
                load: {table: CUSTOMERS}
        """,
    )


@pytest.fixture
def warehouse_connection(warehouse_connection):
    """The session emulator's connection, with the tables these tests load dropped first."""
    cursor = warehouse_connection.cursor()
    for table in ("ORDERS", "CUSTOMERS"):
        cursor.execute(f'DROP TABLE IF EXISTS "ANALYTICS"."RAW"."{table}"')
    return warehouse_connection
