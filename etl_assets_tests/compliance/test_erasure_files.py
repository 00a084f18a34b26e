"""Erasure's file work on real files: the subject's value in each form, archived uploads rewritten record by record
(everything else byte for byte), and the quarantine's positions shifted past the rows taken out."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.compliance.archive_erasure import ArchivedContent, archived_contents, erase_from_archived, unrewritable
from etl_assets.compliance.hashing import HashKey
from etl_assets.compliance.lake_erasure import _shifted
from etl_assets.compliance.record_filters import without_delimited_records
from etl_assets.compliance.subject import ErasureError, subject_for
from etl_assets.config.models import DatasetConfig
from etl_assets.ingest.archive import SIDECAR_SUFFIX
from etl_assets.ingest.model import ReadOptions

KEY = HashKey(b"k" * 32)


def dataset(mask: dict | None = None, source: dict | None = None) -> DatasetConfig:
    return DatasetConfig.model_validate({
        "name": "orders",
        "source": {"path": "/tmp/landing/orders", **(source or {})},
        "transform": {"columns": {
            "order_id": {"from": "Order ID", "type": "integer"},
            "email": {"from": "E-Mail", "apply": ["trim", "lower"]},
            "shout": {"expr": "upper(email)"},
        }},
        "compliance": {"mask": mask or {}},
        "load": {"table": "ORDERS"},
    })  # fmt: skip


def test_the_value_is_compared_as_the_transform_writes_it_and_hashed_when_masked():
    plain = subject_for(dataset(), "email", "  Ann@Example.COM", None)
    assert (plain.table_value, plain.source_column, plain.source_value) == ("ann@example.com", "e_mail", "ann@example.com")
    assert plain.is_source_text(" ANN@example.com ") and not plain.is_source_text("ann@example.org")
    hashed = subject_for(dataset({"email": "hash"}), "email", "Ann@Example.com", KEY)
    assert hashed.table_value == KEY.token("ann@example.com") and hashed.source_value == "ann@example.com"
    assert "ann" not in repr(hashed).lower() and KEY.token("ann@example.com") not in repr(hashed)
    assert subject_for(dataset(), "shout", "X", None).source_column is None


@pytest.mark.parametrize(
    ("mask", "column", "key", "message"),
    [
        ({"email": "redact"}, "email", None, "is redacted"),
        ({"email": "hash"}, "email", None, "its hash key is needed"),
        ({}, "nope", None, "has no column 'nope'"),
    ],
)
def test_refusals_name_the_problem_without_the_value(mask, column, key, message):
    with pytest.raises(ErasureError, match=message) as refused:
        subject_for(dataset(mask), column, "ann@example.com", key)
    assert "ann" not in str(refused.value)


CSV = (
    "\ufeffOrder ID,E-Mail,Note\r\n"
    '1,ann@example.com,"two\r\nlines"\r\n'
    '2,bob@example.com,"said ""hi"""\r\n'
    "3, ANN@example.com ,x\r\n"
    '4,"ann@example.com" oops,broken\r\n'
    '5,"carl@example.com,"unclosed\r\n'
    "6,dora@example.com,y\r\n"
)


def test_delimited_text_loses_the_subjects_records_and_keeps_every_other_byte():
    data = CSV.encode("utf-8")
    target = io.BytesIO()
    subject = subject_for(dataset(), "email", "Ann@Example.com", None)
    removed = without_delimited_records(lambda: io.BytesIO(data), target, "utf-8", "csv", ReadOptions(), subject, "a.csv")
    assert removed == 3  # two records, and a broken line that holds the value
    expected = "\ufeffOrder ID,E-Mail,Note\r\n" + '2,bob@example.com,"said ""hi"""\r\n' + '5,"carl@example.com,"unclosed\r\n' + "6,dora@example.com,y\r\n"
    assert target.getvalue() == expected.encode("utf-8")


def _archive(tmp_path: Path, name: str, data: bytes) -> ArchivedContent:

    window = tmp_path / "archive/orders/2026-11-01"
    window.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(data).hexdigest()
    path = window / (sha + Path(name).suffix.lower())
    path.write_bytes(data)
    record = {"original_name": name, "arrived_at": "2026-11-01T00:00:00+00:00", "size": len(data), "sha256": sha, "archived_at": "2026-11-01T00:00:01+00:00"}
    (window / f"{sha}{SIDECAR_SUFFIX}").write_text(json.dumps(record))
    (window / "arrivals").mkdir(exist_ok=True)
    (window / "arrivals" / "later.json").write_text(json.dumps({**record, "archived_at": "2026-11-02T00:00:00+00:00"}))
    return archived_contents(tmp_path / "archive/orders")[0]


@pytest.mark.parametrize(
    ("name", "pack", "unpack"),
    [("a.csv.gz", gzip.compress, gzip.decompress), ("a.csv.bz2", bz2.compress, bz2.decompress), ("a.csv", bytes, bytes)],
)
def test_an_archived_file_is_rewritten_under_its_new_hash_and_the_index_follows(tmp_path, name, pack, unpack):
    text = b"Order ID,E-Mail\n1,ann@example.com\n2,bob@example.com\n"
    content = _archive(tmp_path, name, pack(text))
    subject = subject_for(dataset(), "email", "ann@example.com", None)
    source = dataset().source
    assert erase_from_archived(content, source, subject, write=False) == 1 and content.path.exists()
    assert erase_from_archived(content, source, subject, write=True) == 1
    [rewritten] = archived_contents(tmp_path / "archive/orders")
    assert unpack(rewritten.path.read_bytes()) == b"Order ID,E-Mail\n2,bob@example.com\n"

    sha = hashlib.sha256(rewritten.path.read_bytes()).hexdigest()
    window = rewritten.path.parent
    assert rewritten.path.name.startswith(sha) and not content.path.exists()
    assert json.loads((window / f"{sha}{SIDECAR_SUFFIX}").read_text())["sha256"] == sha
    assert json.loads((window / "arrivals/later.json").read_text())["sha256"] == sha
    assert sorted(path.name for path in window.glob(f"*{SIDECAR_SUFFIX}")) == [f"{sha}{SIDECAR_SUFFIX}"]
    assert erase_from_archived(rewritten, source, subject, write=True) == 0


def test_json_lines_json_arrays_and_parquet_lose_the_subjects_records(tmp_path):
    subject = subject_for(dataset(), "email", "ann@example.com", None)
    source = dataset().source
    lines = _archive(tmp_path / "l", "a.jsonl", b'{"E-Mail": "Ann@example.com", "n": 1}\n{"E-Mail": "bob@example.com", "n": 2.50}\n')
    assert erase_from_archived(lines, source, subject, write=True) == 1
    [rewritten] = archived_contents(tmp_path / "l/archive/orders")
    assert rewritten.path.read_bytes() == b'{"E-Mail": "bob@example.com", "n": 2.50}\n'
    array = _archive(tmp_path / "j", "a.json", b'[{"E-Mail": "ann@example.com"}, {"E-Mail": "bob@example.com", "n": 2}]')
    assert erase_from_archived(array, source, subject, write=True) == 1
    [rewritten] = archived_contents(tmp_path / "j/archive/orders")
    assert json.loads(rewritten.path.read_text()) == [{"E-Mail": "bob@example.com", "n": 2}]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"E-Mail": ["ann@example.com", "bob@example.com"], "n": [1, 2]}), buffer)
    parquet = _archive(tmp_path / "p", "a.parquet", buffer.getvalue())
    assert erase_from_archived(parquet, source, subject, write=True) == 1
    [rewritten] = archived_contents(tmp_path / "p/archive/orders")
    assert pq.read_table(rewritten.path).to_pylist() == [{"E-Mail": "bob@example.com", "n": 2}]


def test_zips_and_workbooks_are_named_as_not_rewritable(tmp_path):

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("a.csv", "E-Mail\nann@example.com\n")
    content = _archive(tmp_path, "a.zip", packed.getvalue())
    assert unrewritable([content], dataset().source) == [f"a.zip ({content.path.name})"]


def test_quarantined_positions_move_up_past_the_rows_taken_out():
    excluded, removed = np.array([1, 2, 5, 9]), np.array([0, 2, 7])
    assert _shifted(excluded, removed).tolist() == [0, 3, 6]


def test_a_file_without_the_subject_is_copied_exactly(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(CSV.encode())
    subject = subject_for(dataset(), "email", "nobody@example.com", None)
    target = io.BytesIO()
    assert without_delimited_records(partial(path.open, "rb"), target, "utf-8", "csv", ReadOptions(), subject, "x.csv") == 0
    assert target.getvalue() == CSV.encode()
