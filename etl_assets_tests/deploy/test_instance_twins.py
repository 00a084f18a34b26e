"""dagster.yaml (SQLite) and deploy/dagster.postgres.yaml differ only in where the instance keeps its storage."""

from __future__ import annotations

import yaml

from etl_assets_tests.cli.conftest import REPO


def settings_but_storage(path: str) -> dict:
    settings = yaml.safe_load((REPO / path).read_text())
    settings.pop("storage", None)
    return settings


def test_the_postgres_instance_has_every_setting_of_the_embedded_one():
    assert settings_but_storage("deploy/dagster.postgres.yaml") == settings_but_storage("dagster.yaml")


def test_the_embedded_instance_keeps_dagsters_sqlite_default():
    # no `storage` key: Dagster then keeps runs, events and schedules in SQLite under DAGSTER_HOME/storage
    assert "storage" not in yaml.safe_load((REPO / "dagster.yaml").read_text())
