"""Which columns are PII: declared ones, and with auto_detect_pii the profile's emails, phones and people's names,
each known by its upload name and its table name; product names are not people's."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.compliance.pii import (
    DECLARED,
    PiiColumn,
    may_hold_pii,
    pii_columns,
    table_pii,
    upload_pii,
    window_pii,
)
from etl_assets.config.loader import load_config
from etl_assets.profiling.profiler import profile_parquet, write_profile
from etl_assets_tests.project_config import write_project_config

ROWS = 40
FIRST = ["Ann", "Bob", "Chen", "Dolores", "Émile", "Siobhán", "Jean-Luc", "Mary"]
LAST = ["Martin", "O'Brien", "Wei", "McDonald", "van der Berg", "Smith-Jones", "Müller", "Ng"]
PRODUCTS = ["Widget 3000", "USB-C cable", "Coffee beans 1kg", "desk lamp", "AA batteries (4)", "iPhone case", "Gift card €50"]


def upload_table() -> pa.Table:
    """An upload with the source headers normalised as readers do: emails, phones, names, products and codes."""
    people = [f"{FIRST[i % len(FIRST)]} {LAST[(i * 3) % len(LAST)]}" for i in range(ROWS)]
    return pa.table(
        {
            "customer_email": [f"person{i}@example.com" for i in range(ROWS)],
            "mobile": [f"+44 7700 900{i:03d}" for i in range(ROWS)],
            "full_name": people,
            "name": [PRODUCTS[i % len(PRODUCTS)] for i in range(ROWS)],
            "status": ["paid" if i % 2 else "shipped" for i in range(ROWS)],
            "country": ["fr", "us", "de", "gb"] * (ROWS // 4),
            "_source_row": list(range(ROWS)),
        }
    )


@pytest.fixture
def profile(tmp_path):
    path = tmp_path / "upload.parquet"
    pq.write_table(upload_table(), path)
    return profile_parquet(path)


def dataset(tmp_path, compliance: str, transform: str = ""):
    text = f"""
        shop:
          source: {{path: {tmp_path}/landing}}
          compliance: {compliance}
          {transform}
          load: {{table: SHOP}}
    """
    return load_config(write_project_config(tmp_path / "etl_config.yaml", text)).datasets["shop"]


TRANSFORM = """transform:
            columns:
              email: {from: Customer Email, apply: [trim, lower]}
              phone: {from: mobile}
              customer: {from: Full Name}
              product: {from: name}
              status: {from: Status}
              email_domain: {expr: "split_part(email, '@', 2)"}"""


def test_the_profile_recognises_emails_phones_and_peoples_names_but_not_product_names(profile):
    kinds = {column.name: column.semantic_type for column in profile.columns}
    assert (kinds["customer_email"], kinds["mobile"], kinds["full_name"]) == ("email", "phone", "person_name")
    assert kinds["name"] != "person_name"
    assert kinds["status"] == kinds["country"] == "category"


def test_auto_detection_maps_upload_columns_to_the_transforms_target_columns(tmp_path, profile):
    found = pii_columns(dataset(tmp_path, "{auto_detect_pii: true, mask: {email: hash}}", TRANSFORM), profile)

    assert found.by_target == {
        "email": PiiColumn("customer_email", "email", "email", "hash", declared=True),
        "phone": PiiColumn("mobile", "phone", "phone", "none", declared=False),
        "customer": PiiColumn("full_name", "customer", "person_name", "none", declared=False),
    }
    assert set(pii_columns(dataset(tmp_path, "{auto_detect_pii: true}", TRANSFORM), profile).by_source) == {"customer_email", "mobile", "full_name"}
    assert found.by_target["email"].tags == {"pii": "email", "mask": "hash"}
    assert found.by_target["phone"].comment == "pii: phone; mask: none"


def test_without_a_transform_the_template_names_are_the_target_columns(tmp_path, profile):
    found = pii_columns(dataset(tmp_path, "{auto_detect_pii: true, pii: [country]}"), profile)
    assert set(found.by_target) == {"customer_email", "mobile", "full_name", "country"}
    assert found.by_target["country"] == PiiColumn("country", "country", DECLARED, "none", declared=True)
    assert found.by_source.keys() == found.by_target.keys()


def test_declared_columns_only_without_auto_detection(tmp_path, profile):
    found = pii_columns(dataset(tmp_path, "{pii: [customer], mask: {email_domain: redact}}", TRANSFORM), profile)
    assert [(c.source, c.target, c.kind, c.mask) for c in found.columns] == [
        ("full_name", "customer", "person_name", "none"),  # declared; the profile still says what it holds
        (None, "email_domain", DECLARED, "redact"),  # computed: no upload column to hide
    ]
    assert set(pii_columns(dataset(tmp_path, "{pii: [customer]}", TRANSFORM), profile).by_source) == {"full_name"}


def test_no_compliance_means_no_pii_and_no_profile_read(tmp_path, profile):
    plain = dataset(tmp_path, "{}")
    assert not may_hold_pii(plain)
    assert not pii_columns(plain, profile)
    assert not window_pii(plain, tmp_path / "never_written.json")
    assert may_hold_pii(dataset(tmp_path, "{auto_detect_pii: true}"))


def test_a_window_without_a_profile_has_its_declared_columns_under_the_uploads_names(tmp_path):
    found = window_pii(dataset(tmp_path, "{auto_detect_pii: true, pii: [email]}", TRANSFORM), tmp_path / "missing.json")
    assert [(c.source, c.target) for c in found.columns] == [("customer_email", "email")]


def test_the_tables_labels_join_the_windows_of_a_run(tmp_path, profile):
    config = dataset(tmp_path, "{auto_detect_pii: true, pii: [status]}", TRANSFORM)
    with_rows, empty = tmp_path / "day1.json", tmp_path / "day2.json"
    write_profile(profile, with_rows)
    pq.write_table(upload_table().slice(0, 0), tmp_path / "empty.parquet")
    write_profile(profile_parquet(tmp_path / "empty.parquet"), empty)

    labels = table_pii(config, [empty, with_rows])

    assert {name: column.kind for name, column in labels.items()} == {"status": DECLARED, "email": "email", "phone": "phone", "customer": "person_name"}


def test_the_upload_finds_its_pii_in_its_first_rows_and_leaves_no_file_behind(tmp_path):
    upload = tmp_path / "uploads" / "2026-11-19.parquet"
    upload.parent.mkdir()
    pq.write_table(upload_table(), upload)
    found = upload_pii(dataset(tmp_path, "{auto_detect_pii: true}", TRANSFORM), upload)
    assert set(found.by_source) == {"customer_email", "mobile", "full_name"}
    assert [path.name for path in upload.parent.iterdir()] == ["2026-11-19.parquet"]
