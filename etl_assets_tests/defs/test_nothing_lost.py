"""Passthrough datasets end to end: values arrive as they were written, nested Parquet arrives as JSON."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from etl_assets.config.loader import load_config
from etl_assets.defs import build_definitions
from etl_assets.defs.resources import LandingZones, ProjectHome, ScriptModels, SnowflakeWarehouse
from etl_assets.lake import stage_paths
from etl_assets.paths import ProjectPaths
from etl_assets_tests.project_config import write_project_config
from etl_assets.defs.pipes_messages import script_client

pytestmark = pytest.mark.integration

ARRIVED = dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC)
WINDOW = "2026-11-19"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProjectPaths:
    """Two passthrough datasets (no transform), partitioned by arrival into daily windows."""
    home = tmp_path / "home"
    config_path = tmp_path / "etl_config.yaml"
    write_project_config(
        config_path,
        f"""
              contacts:
                source: {{path: "{home}/landing/contacts", pattern: "*.csv", format: csv, partition_by: arrival}}
                load: {{table: CONTACTS, strategy: append}}
              events:
                source: {{path: "{home}/landing/events", pattern: "*.parquet", format: parquet, partition_by: arrival}}
                load: {{table: EVENTS, strategy: append}}
        """,
    )
    monkeypatch.setenv("ETL_ASSETS_HOME", str(home))
    monkeypatch.setenv("ETL_ASSETS_CONFIG", str(config_path))
    return ProjectPaths(home)


def land(paths: ProjectPaths, dataset: str, name: str, write) -> None:
    target = paths.landing / dataset / name
    target.parent.mkdir(parents=True, exist_ok=True)
    write(target)
    os.utime(target, (ARRIVED.timestamp(), ARRIVED.timestamp()))


def materialize(paths: ProjectPaths, dataset: str, stages: set[str], warehouse_home: Path):
    defs = build_definitions(load_config(Path(os.environ["ETL_ASSETS_CONFIG"])))
    assets = [a for a in defs.assets if a.key.path[0] in stages and a.key.path[-1] == dataset.lower()]
    return dg.materialize(
        assets,
        resources={
            "project": ProjectHome(home=str(paths.home)),
            "warehouse": SnowflakeWarehouse(home=str(warehouse_home)),
            "pipes_subprocess_client": script_client(),
            "script_models": ScriptModels(),
            "landing_zones": LandingZones(),
        },
        tags={ASSET_PARTITION_RANGE_START_TAG: WINDOW, ASSET_PARTITION_RANGE_END_TAG: WINDOW},
        instance=dg.DagsterInstance.ephemeral(),
    )


def test_leading_zeros_and_plus_signs_arrive_as_written(project, warehouse_home, warehouse_connection):
    cursor = warehouse_connection.cursor()
    cursor.execute('DROP TABLE IF EXISTS "ANALYTICS"."RAW"."CONTACTS"')
    land(project, "contacts", "contacts.csv", lambda path: path.write_text("zip,phone,code\n01234,+15551234567,007\n"))

    stages = {"uploads", "profiles", "scripts", "transformed", "snowflake"}
    assert materialize(project, "contacts", stages, warehouse_home).success

    cursor.execute('SELECT "zip", "phone", "code" FROM "ANALYTICS"."RAW"."CONTACTS"')
    assert cursor.fetchall() == [("01234", "+15551234567", "007")]
    cursor.execute(
        "SELECT column_name, data_type FROM ANALYTICS.information_schema.columns "
        "WHERE table_schema = 'RAW' AND table_name = 'CONTACTS' AND column_name IN ('zip', 'phone', 'code')"
    )
    assert sorted(cursor.fetchall()) == [("code", "TEXT"), ("phone", "TEXT"), ("zip", "TEXT")]


EVENTS = pa.table({
    "event_id": pa.array([1, 2, 3], pa.int64()),
    "user": pa.array([
        {"name": "Ann", "address": {"city": "Paris", "zip": "01234"}},
        None,
        {"name": "Bob", "address": None},
    ], pa.struct([("name", pa.string()), ("address", pa.struct([("city", pa.string()), ("zip", pa.string())]))])),
    "tags": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
    "attributes": pa.array([[("plan", "pro")], None, []], pa.map_(pa.string(), pa.string())),
    "amounts": pa.array([[decimal.Decimal("12.50")], [], None], pa.list_(pa.decimal128(10, 2))),
})


def test_nested_parquet_reaches_the_transformed_parquet_as_columns_and_json(project, warehouse_home):
    land(project, "events", "events.parquet", lambda path: pq.write_table(EVENTS, path))

    assert materialize(project, "events", {"uploads", "profiles", "scripts", "transformed"}, warehouse_home).success

    transformed = pq.read_table(stage_paths(project, "events", WINDOW).transformed)
    data = transformed.select([name for name in transformed.column_names if not name.startswith("_")])
    assert data.schema == pa.schema([
        ("event_id", pa.int64()),
        ("user__name", pa.string()),
        ("user__address__city", pa.string()),
        ("user__address__zip", pa.string()),
        ("tags", pa.json_()),
        ("attributes", pa.json_()),
        ("amounts", pa.json_()),
    ])
    rows = data.to_pylist()
    assert [(r["event_id"], r["user__name"], r["user__address__city"], r["user__address__zip"]) for r in rows] == [
        (1, "Ann", "Paris", "01234"), (2, None, None, None), (3, "Bob", None, None),
    ]
    decoded = [[None if r[name] is None else json.loads(r[name]) for name in ("tags", "attributes", "amounts")] for r in rows]
    assert decoded == [[["a", "b"], {"plan": "pro"}, [12.5]], [[], None, []], [None, {}, None]]
    assert rows[0]["amounts"] == "[12.50]", "a decimal keeps its digits"


def test_nested_parquet_loads_structs_as_columns_and_lists_and_maps_as_variant(project, warehouse_home, warehouse_connection):
    cursor = warehouse_connection.cursor()
    cursor.execute('DROP TABLE IF EXISTS "ANALYTICS"."RAW"."EVENTS"')
    land(project, "events", "events.parquet", lambda path: pq.write_table(EVENTS, path))

    assert materialize(project, "events", {"uploads", "profiles", "scripts", "transformed", "snowflake"}, warehouse_home).success

    cursor.execute(
        "SELECT column_name, data_type FROM ANALYTICS.information_schema.columns WHERE table_schema = 'RAW' "
        "AND table_name = 'EVENTS' AND column_name IN ('user__address__zip', 'tags', 'attributes', 'amounts')"
    )
    assert sorted(cursor.fetchall()) == [
        ("amounts", "VARIANT"), ("attributes", "VARIANT"), ("tags", "VARIANT"), ("user__address__zip", "TEXT"),
    ]  # fmt: skip
    cursor.execute(
        'SELECT "event_id", "user__address__zip", "tags", "attributes", "attributes":plan::VARCHAR, "amounts" '
        'FROM "ANALYTICS"."RAW"."EVENTS" ORDER BY 1'
    )
    rows = [(i, zip_code, *(None if v is None else json.loads(v) for v in (tags, attributes)), plan, amounts) for i, zip_code, tags, attributes, plan, amounts in cursor.fetchall()]
    assert [row[:5] for row in rows] == [
        (1, "01234", ["a", "b"], {"plan": "pro"}, "pro"),
        (2, None, [], None, None),
        (3, None, None, {}, None),
    ]
    assert json.loads(rows[0][5]) == [12.5] and "12.5" in rows[0][5]
