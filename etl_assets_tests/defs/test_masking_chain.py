"""Masking in real runs against the emulator: hashed emails are stable across windows and join across datasets,
phones are NULL, quality rules still judge the real values, and only the uploads lake keeps the originals."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from etl_assets.compliance.hashing import HashKey
from etl_assets.credentials import HashKeyProfile, Vault
from etl_assets.defs import build_definitions
from etl_assets.defs.pipes_messages import script_client
from etl_assets.defs.resources import CredentialsVault, LandingZones, ProjectHome, ScriptModels, SnowflakeWarehouse
from etl_assets.lake import stage_paths
from etl_assets_tests.defs.conftest import project_with
from etl_assets_tests.defs.test_load_faults import step_failure

pytestmark = pytest.mark.integration

DAY1 = dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC)
DAY2 = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
HASH_KEY = "the-test-hash-key-of-the-signups-0123456789"
SIGNUPS_DAY1 = """Signup ID,Email,Phone,Plan
1,ann@example.com,+33 6 11 11 11 11,free
2,bob@example.com,+33 6 22 22 22 22,pro
3,bad-address,+33 6 33 33 33 33,free
"""
SIGNUPS_DAY2 = """Signup ID,Email,Phone,Plan
4,ann@example.com,+33 6 44 44 44 44,pro
5,cyd@example.com,+33 6 55 55 55 55,free
"""
CONTACTS_DAY1 = """Contact ID,Email,Name
10,ann@example.com,Ann
11,cyd@example.com,Cyd
12,dan@example.com,Dan
"""
PERSONAL_VALUES = ["ann@example.com", "bob@example.com", "bad-address", "cyd@example.com", "dan@example.com", "+33 6 11 11 11 11", "+33 6 55 55 55 55"]
TABLES = ("SIGNUPS", "SIGNUPS_QUARANTINE", "CONTACTS")


@pytest.fixture
def masking_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    return project_with(
        tmp_path,
        monkeypatch,
        r"""
              signups:
                source: {path: "{home}/landing/signups", pattern: "*.csv", format: csv}
                transform:
                  columns:
                    signup_id: {from: Signup ID, type: integer}
                    email: {from: Email, apply: [trim, lower]}
                    phone: {from: Phone}
                    plan: {from: Plan}
                quality:
                  - {rule: regex, column: email, pattern: '^[^@\s]+@[^@\s]+\.[a-z]+$', action: quarantine}
                compliance: {mask: {email: hash, phone: redact}}
                load: {table: SIGNUPS, strategy: merge, keys: [signup_id]}
              contacts:
                source: {path: "{home}/landing/contacts", pattern: "*.csv", format: csv}
                transform:
                  columns:
                    contact_id: {from: Contact ID, type: integer}
                    email: {from: Email, apply: [trim, lower]}
                    name: {from: Name}
                compliance: {mask: {email: hash}}
                load: {table: CONTACTS, strategy: merge, keys: [contact_id]}
        """,
    )


@pytest.fixture
def fernet_key() -> str:
    return Vault.new_key()


@pytest.fixture
def clean_tables(warehouse_connection):
    cursor = warehouse_connection.cursor()
    cursor.execute('CREATE DATABASE IF NOT EXISTS "ANALYTICS"')
    cursor.execute('CREATE SCHEMA IF NOT EXISTS "ANALYTICS"."RAW"')
    for table in TABLES:
        cursor.execute(f'DROP TABLE IF EXISTS "ANALYTICS"."RAW"."{table}"')
    return warehouse_connection


def land(project, dataset: str, name: str, text: str, arrived: dt.datetime) -> None:
    landing = project.paths.landing / dataset
    landing.mkdir(parents=True, exist_ok=True)
    (landing / name).write_text(text)
    os.utime(landing / name, (arrived.timestamp(), arrived.timestamp()))


def run(project, warehouse_home, fernet_key: str, dataset: str, first: str, last: str, raise_on_error: bool = True):
    defs = build_definitions(project.config)
    assets = [a for a in defs.assets if a.group_names_by_key and set(a.group_names_by_key.values()) == {dataset}]
    vault = CredentialsVault(fernet_key=fernet_key, home=str(project.paths.home))
    return dg.materialize(
        assets,
        resources={
            "project": ProjectHome(home=str(project.paths.home)),
            "warehouse": SnowflakeWarehouse(home=str(warehouse_home), vault=vault),
            "pipes_subprocess_client": script_client(),
            "script_models": ScriptModels(),
            "landing_zones": LandingZones(),
        },
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


def rows(connection, sql: str) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute(sql)
    return cursor.fetchall()


def file_values(path: Path) -> set:
    return {value for column in pq.read_table(path).columns for value in column.to_pylist()}


def test_hashed_emails_are_stable_across_windows_join_across_datasets_and_only_the_uploads_keep_them(
    masking_project, warehouse_home, clean_tables, fernet_key
):
    Vault.for_home(masking_project.paths.home, {"ETL_ASSETS_FERNET_KEY": fernet_key}).set("pii_hash_key", HashKeyProfile(key=HASH_KEY))
    key = HashKey(HASH_KEY.encode())
    land(masking_project, "signups", "signups_day1.csv", SIGNUPS_DAY1, DAY1)
    land(masking_project, "signups", "signups_day2.csv", SIGNUPS_DAY2, DAY2)
    land(masking_project, "contacts", "contacts_day1.csv", CONTACTS_DAY1, DAY1)
    signups = run(masking_project, warehouse_home, fernet_key, "signups", "2026-11-19", "2026-11-20")
    assert run(masking_project, warehouse_home, fernet_key, "contacts", "2026-11-19", "2026-11-19").success

    connection = clean_tables
    loaded = rows(connection, 'SELECT "signup_id", "email", "phone", "plan" FROM "ANALYTICS"."RAW"."SIGNUPS" ORDER BY 1')
    assert loaded == [
        (1, key.token("ann@example.com"), None, "free"),
        (2, key.token("bob@example.com"), None, "pro"),
        (4, key.token("ann@example.com"), None, "pro"),
        (5, key.token("cyd@example.com"), None, "free"),
    ], "row 3 is quarantined; ann's token is the same in both windows"
    assert all(re.fullmatch(r"[0-9a-f]{64}", email) for _, email, _, _ in loaded)
    quarantined = rows(connection, 'SELECT "signup_id", "email", "phone", "_failed_rules" FROM "ANALYTICS"."RAW"."SIGNUPS_QUARANTINE"')
    assert quarantined == [(3, key.token("bad-address"), None, "regex_email")]
    # the rule judged the real values: a token would fail it on every row
    checks = {e.check_name: e for e in signups.get_asset_check_evaluations()}
    assert checks["regex_email"].metadata["failing_count"].value == 1
    # the load read the masked kept file with its quarantined rows left out, and each window loaded
    assert checks["reconciliation"].passed and checks["quality_gate"].passed
    assert not list((masking_project.paths.lake / "signups" / "quality").glob(".*")), "no verdict left aside"

    joined = rows(
        connection,
        'SELECT s."signup_id", c."contact_id" FROM "ANALYTICS"."RAW"."SIGNUPS" s '
        'JOIN "ANALYTICS"."RAW"."CONTACTS" c ON s."email" = c."email" ORDER BY 1',
    )
    assert joined == [(1, 10), (4, 10), (5, 11)]
    columns = dict(rows(connection, "SELECT column_name, data_type FROM ANALYTICS.information_schema.columns WHERE table_name = 'SIGNUPS'"))
    assert columns["email"] in ("TEXT", "VARCHAR")

    lake = masking_project.paths.lake
    uploads = [stage_paths(masking_project.paths, "signups", day).upload for day in ("2026-11-19", "2026-11-20")]
    assert {"ann@example.com", "bad-address", "+33 6 11 11 11 11"} <= file_values(uploads[0]) | file_values(uploads[1])
    written = [p for ds in ("signups", "contacts") for stage in ("transformed", "loadable", "quarantine") for p in (lake / ds / stage).glob("*.parquet")]
    assert {p.parent.name for p in written} == {"transformed", "loadable", "quarantine"}
    for path in written:
        content, values = path.read_bytes(), file_values(path)
        assert [v for v in PERSONAL_VALUES if v.encode() in content or v in values] == [], path
        assert HASH_KEY.encode() not in content


def test_without_its_hash_key_the_transform_fails_in_one_sentence_and_nothing_loads(masking_project, warehouse_home, clean_tables, fernet_key):
    land(masking_project, "signups", "signups_day1.csv", SIGNUPS_DAY1, DAY1)
    result = run(masking_project, warehouse_home, fernet_key, "signups", "2026-11-19", "2026-11-19", raise_on_error=False)
    assert not result.success
    message = step_failure(result)
    assert "Dataset 'signups'" in message and "`etl-assets credentials set pii_hash_key --kind hash_key --generate`" in message
    stage = stage_paths(masking_project.paths, "signups", "2026-11-19")
    assert not stage.transformed.exists() and not stage.verdict.exists(), "nothing was written before the key was read"
    tables = rows(clean_tables, "SELECT table_name FROM ANALYTICS.information_schema.tables WHERE table_schema = 'RAW'")
    assert not {"SIGNUPS", "SIGNUPS_QUARANTINE"} & {name for (name,) in tables}
