"""The DuckDB databases that work over a window's rows: bounded memory, UTC in every cursor, a clear refusal."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from etl_assets import local_duckdb
from etl_assets.errors import ConfigError

SETTINGS = """
import json
from etl_assets import local_duckdb
database = local_duckdb.connect()
cursor = database.cursor()  # a range's windows each get one
print(json.dumps(cursor.execute("SELECT current_setting('TimeZone'), current_setting('memory_limit')").fetchone()))
"""


def settings_in_a_fresh_process(**env: str) -> list[str]:
    completed = subprocess.run([sys.executable, "-c", SETTINGS], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)


def test_every_cursor_works_in_utc_within_the_default_limit_whatever_the_machine_zone():
    assert settings_in_a_fresh_process(TZ="America/New_York") == ["UTC", "381.4 MiB"]  # 400MB as DuckDB shows it


def test_the_limit_comes_from_the_environment():
    assert settings_in_a_fresh_process(ETL_ASSETS_DUCKDB_MEMORY_LIMIT="2GB")[1] == "1.8 GiB"


def test_a_limit_duckdb_cannot_read_is_refused_in_one_sentence(monkeypatch):
    monkeypatch.setenv("ETL_ASSETS_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match=r"^ETL_ASSETS_DUCKDB_MEMORY_LIMIT='lots' is not a DuckDB memory size .*; use a size such as 400MB or 2GB\.$"):
        local_duckdb.connect()
