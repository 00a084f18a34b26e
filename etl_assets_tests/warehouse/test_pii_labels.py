"""PII columns labelled on the emulator: a comment each, read back from information_schema; a second run writes
nothing; a column no longer PII loses its label. (The emulator takes CREATE TAG and SET TAG as no-ops, so the
fallback for an account without tags, a warning, is not reached here.)"""

from __future__ import annotations

import logging
import uuid

import pyarrow as pa
import pytest

from etl_assets.compliance.pii import PiiColumn
from etl_assets.warehouse.ddl import ensure_target
from etl_assets.warehouse.pii_labels import label_pii_columns

pytestmark = pytest.mark.integration

TABLE = pa.schema([("id", pa.int64()), ("email", pa.string()), ("phone", pa.string()), ("status", pa.string())])
EMAIL = PiiColumn("Email", "email", "email", "hash", declared=True)
PHONE = PiiColumn("Phone", "phone", "phone", "none", declared=False)


@pytest.fixture
def table(warehouse_connection):
    schema = f"L_{uuid.uuid4().hex[:8].upper()}"
    with warehouse_connection.cursor() as cursor:
        ensure_target(cursor, "LABELS", schema, "CONTACTS", TABLE)
    return warehouse_connection, schema


def comments(connection, schema: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, comment FROM LABELS.information_schema.columns WHERE table_schema = %s AND table_name = 'CONTACTS'",
            (schema,),
        )
        return {name: comment for name, comment in cursor.fetchall() if comment}


def test_pii_columns_get_a_comment_once_and_lose_it_when_no_longer_pii(table, caplog):
    connection, schema = table
    log = logging.getLogger("pii_labels_test")
    caplog.set_level(logging.WARNING)

    assert label_pii_columns(connection, "LABELS", schema, "CONTACTS", {"email": EMAIL, "phone": PHONE}, log) == 2
    assert comments(connection, schema) == {"email": "pii: email; mask: hash", "phone": "pii: phone; mask: none"}
    assert caplog.text == "", "the emulator takes CREATE TAG and SET TAG (as no-ops), so nothing is refused"

    caplog.clear()
    assert label_pii_columns(connection, "LABELS", schema, "CONTACTS", {"email": EMAIL, "phone": PHONE}, log) == 0
    assert caplog.text == "", "labels that stand cost no statement and no warning"

    assert label_pii_columns(connection, "LABELS", schema, "CONTACTS", {"email": EMAIL, "missing": PHONE}, log) == 1
    assert comments(connection, schema) == {"email": "pii: email; mask: hash"}


def test_a_table_that_is_not_there_is_not_labelled_and_nothing_fails(warehouse_connection, caplog):
    log = logging.getLogger("pii_labels_test")
    assert label_pii_columns(warehouse_connection, "LABELS", "NOWHERE", "CONTACTS", {"email": EMAIL}, log) == 0
