"""A dataset with personal data through a real Dagster run into the emulator: its PII columns are tagged in every
column schema, commented in Snowflake, its classification is on every asset, and no PII value of the upload is in
the profile report or anywhere in the run's event log, while the other columns' values still are."""

from __future__ import annotations

import json
import os

import dagster as dg
import pytest

from etl_assets.defs import build_definitions
from etl_assets.lake import stage_paths
from etl_assets_tests.defs.conftest import project_with
from etl_assets_tests.defs.test_chain import DAY1, run_chain
from etl_assets_tests.defs.test_loading import check_results

pytestmark = pytest.mark.integration

WINDOW = "2026-11-19"
TABLE = "PII_CONTACTS"
PEOPLE = [
    (1, "ann.martin@example.com", "+44 7700 900123", "Ann Martin", "active", "Portugal"),
    (2, "bob.stone@example.org", "+1 555 010 4477", "Bob Stone", "churned", "Canada"),
    (3, "chen.wei@example.net", "020 7946 0018", "Chen Wei", "paused", "Japan"),
    (4, "dolores.mcdonald@example.com", "+44 7700 900456", "Dolores McDonald", "active", "Portugal"),
    (5, "emile.berg@example.com", "+1 555 010 9921", "Emile van der Berg", "active", "Canada"),
    (6, "siobhan.sj@example.com", "020 7946 0777", "Siobhan Smith-Jones", "churned", "Japan"),
    (7, "jean.muller@example.com", "+44 7700 900789", "Jean-Luc Muller", "active", "Portugal"),
    (8, "mary.ng@example.com", "+1 555 010 3141", "Mary Ng", "paused", "Canada"),
    (9, "pat.oneil@example.com", "+44 7700 900999", "Pat O'Neil", "active", "Japan"),
    (10, "quinn.hale@example.org", "+1 555 010 1618", "Quinn Hale", "churned", "Portugal"),
    (11, "rosa.diaz@example.net", "020 7946 0555", "Rosa Diaz", "active", "Canada"),
    (12, "not-an-email", "+44 7700 900321", "Sam Reyes", "paused", "Japan"),
]
# a line with one field too many: rejected, and its raw text would show an email and a phone
REJECTED = (13, "zed.extra@example.com", "+1 555 010 2718", "Zed Extra", "active", "Canada", "EXTRA")
PII_VALUES = [value for person in [*PEOPLE, REJECTED] for value in person[1:4]]


@pytest.fixture
def contacts(tmp_path, monkeypatch, warehouse_connection):
    for table in (TABLE, f"{TABLE}_QUARANTINE"):
        warehouse_connection.cursor().execute(f'DROP TABLE IF EXISTS "ANALYTICS"."RAW"."{table}"')
    project = project_with(
        tmp_path,
        monkeypatch,
        f"""
          contacts:
            source: {{path: "{{home}}/landing/contacts", pattern: "*.csv", format: csv, max_reject_percent: 10}}
            compliance: {{pii: [email], auto_detect_pii: true, classification: confidential}}
            transform:
              columns:
                contact_id: {{from: Contact ID, type: integer}}
                email: {{from: Email, apply: [trim, lower]}}
                phone: {{from: Phone}}
                full_name: {{from: Full Name}}
                status: {{from: Status}}
                country: {{from: Country}}
            quality:
              - {{rule: regex, column: email, pattern: '^[^@]+@[^@]+$', action: quarantine}}
              - {{rule: accepted_values, column: status, values: [active, churned], severity: warn}}
            load: {{table: {TABLE}, strategy: merge, keys: [contact_id]}}
        """,
    )
    landing = project.paths.landing / "contacts"
    landing.mkdir(parents=True)
    lines = ["Contact ID,Email,Phone,Full Name,Status,Country", *(",".join(map(str, row)) for row in [*PEOPLE, REJECTED])]
    upload = landing / "contacts.csv"
    upload.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(upload, (DAY1.timestamp(), DAY1.timestamp()))
    return project


def materializations(result: dg.ExecuteInProcessResult, node: str) -> dict:
    (materialization,) = [m for m in result.asset_materializations_for_node(node) if m.partition == WINDOW]
    return materialization.metadata


def tags_of(metadata: dict) -> dict[str, dict[str, str]]:
    return {column.name: dict(column.tags) for column in metadata["dagster/column_schema"].value.columns if column.tags}


def found_in(text: str, values: list[str]) -> list[str]:
    return [value for value in values if value.lower() in text.lower()]


def test_no_pii_value_is_shown_anywhere_and_pii_columns_are_tagged_everywhere(contacts, warehouse_home, warehouse_connection):
    instance = dg.DagsterInstance.ephemeral()
    result = run_chain(contacts, warehouse_home, "contacts", WINDOW, WINDOW, instance=instance)
    assert result.success

    cursor = warehouse_connection.cursor()
    cursor.execute(f'SELECT "email", "full_name", "status" FROM "ANALYTICS"."RAW"."{TABLE}" WHERE "contact_id" = 1')
    assert cursor.fetchone() == ("ann.martin@example.com", "Ann Martin", "active"), "the load really went through"

    report = stage_paths(contacts.paths, "contacts", WINDOW).report.read_text(encoding="utf-8")
    events = [json.dumps(json.loads(dg.serialize_value(entry))) + str(entry) for entry in instance.all_logs(result.run_id)]
    log = "\n".join(events)
    assert found_in(report, PII_VALUES) == []
    assert found_in(log, PII_VALUES) == []
    # the scans can find values: those of columns that are not PII are still shown
    assert found_in(report, ["paused", "Portugal"]) == ["paused", "Portugal"]
    assert found_in(log, ["paused", "Portugal"]) == ["paused", "Portugal"]
    assert "***" in report and "***" in log

    pii_tags = {"pii": "email", "mask": "none"}, {"pii": "phone", "mask": "none"}, {"pii": "person_name", "mask": "none"}
    by_target = dict(zip(["email", "phone", "full_name"], pii_tags))
    assert tags_of(materializations(result, "uploads__contacts")) == by_target  # upload columns, named like the table's here
    assert tags_of(materializations(result, "profiles__contacts")) == by_target
    assert tags_of(materializations(result, "transformed__contacts")) == by_target
    assert tags_of(materializations(result, f"snowflake__analytics__raw__{TABLE.lower()}")) == by_target

    checks = check_results(result)
    email_rule = checks["regex_email"].metadata["examples"].value
    status_rule = checks["accepted_values_status"].metadata["examples"].value
    assert "***" in email_rule and "not-an-email" not in email_rule
    assert "paused" in status_rule
    rejects = checks["rejected_rows"].metadata["examples"].value
    assert "characters)" in rejects and "EXTRA" not in rejects

    labels = {"email": "pii: email; mask: none", "phone": "pii: phone; mask: none", "full_name": "pii: person_name; mask: none"}
    for table in (TABLE, f"{TABLE}_QUARANTINE"):  # the quarantined row (not-an-email) has the same columns
        cursor.execute(
            "SELECT column_name, comment FROM ANALYTICS.information_schema.columns WHERE table_schema = 'RAW' AND table_name = %s",
            (table,),
        )
        assert {name: comment for name, comment in cursor.fetchall() if comment} == labels, table
    cursor.execute(f'SELECT COUNT(*) FROM "ANALYTICS"."RAW"."{TABLE}_QUARANTINE"')
    assert cursor.fetchone() == (1,)

    specs = [spec for spec in build_definitions(contacts.config).resolve_all_asset_specs() if spec.group_name == "contacts"]
    assert len(specs) == 5
    assert {getattr(spec.metadata["classification"], "value", spec.metadata["classification"]) for spec in specs} == {"confidential"}
