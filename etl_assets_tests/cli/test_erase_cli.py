"""`etl-assets erase`: one person's rows out of the table, the quarantine table, every lake file and the archived
uploads (CSV and gzip CSV, loaded by real chain runs into the emulator), everyone else's rows untouched, one ledger row
that never holds the value; a dry run that changes nothing; the refusals."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from etl_assets.compliance.hashing import HashKey
from etl_assets_tests.project_config import write_project_config

pytestmark = pytest.mark.integration

SUBJECT = "customer1@example.com"
GIVEN = "Customer1@Example.COM"  # as a person might type it: the transform lower-cases emails
KEY = "an-erasure-test-hash-key-0123456789"
DAY_ONE = (
    'Order ID,Email,Status,Note\n'
    '1,Customer1@Example.COM,paid,"first\norder"\n'
    '2,other2@example.com,paid,hello\n'
    '3,other3@example.com,shipped,"says ""hi"""\n'
)
DAY_TWO = (
    "Order ID,Email,Status,Note\n"
    "4, customer1@example.com ,paid,second\n"
    "5,other2@example.com,shipped,x\n"
    "6,CUSTOMER1@EXAMPLE.COM,bogus,held back\n"
    "7,other4@example.com,paid,y\n"
    "8,other5@example.com,weird,also held back\n"
)
TABLES = ('"ANALYTICS"."RAW"."ORDERS"', '"ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
LEDGER = '"ANALYTICS"."RAW"."ETL_ASSETS_LOADS"'
WINDOWS = "2026-11-01...2026-11-02"


def _configure(cli, tmp_path: Path, compliance: str = "", connection: str = "local") -> None:
    config = tmp_path / "etl_config.yaml"
    write_project_config(
        config,
        f"""
              orders:
                source:
                  path: "{cli.home}/landing/orders"
                  pattern: "orders_*"
                  settle_seconds: 0
                  partition_by: {{filename: 'orders_(?P<date>\\d{{4}}-\\d{{2}}-\\d{{2}})'}}
                {compliance}
                warehouse: {{connection: {connection}, database: ANALYTICS, schema: RAW}}
                transform:
                  columns:
                    order_id: {{from: Order ID, type: integer}}
                    email: {{from: Email, type: string, apply: [trim, lower]}}
                    status: {{from: Status, type: string}}
                    note: {{from: Note, type: string}}
                quality:
                  - {{rule: accepted_values, column: status, values: [paid, shipped], action: quarantine}}
                load: {{table: ORDERS, strategy: merge, keys: [order_id]}}
        """,
    )
    cli.env["ETL_ASSETS_CONFIG"] = str(config)


def _load_two_windows(cli, tmp_path: Path) -> None:
    plain, packed = tmp_path / "orders_2026-11-01.csv", tmp_path / "orders_2026-11-02.csv.gz"
    plain.write_text(DAY_ONE, encoding="utf-8")
    packed.write_bytes(gzip.compress(DAY_TWO.encode()))
    for file in (plain, packed):
        uploaded = cli.run("upload", str(file), "--dataset", "orders")
        assert uploaded.returncode == 0, uploaded.stderr
    _materialize(cli)


def _materialize(cli) -> None:
    run = cli.run("asset", "materialize", "-m", "etl_assets.definitions", "--select", "group:orders", "--partition-range", WINDOWS, command="dagster")
    assert run.returncode == 0, run.stderr[-3000:]


def _sql(cli, statement: str) -> list[dict]:
    result = cli.run("warehouse", "sql", statement, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _rows(cli, table: str) -> list[tuple]:
    return sorted((row["order_id"], row["email"], row["status"], row["note"]) for row in _sql(cli, f'SELECT * FROM {table}'))


def _file_bytes(home: Path) -> dict[str, str]:
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for folder in ("lake", "archive") for path in sorted((home / folder).rglob("*")) if path.is_file() and path.name != ".lock"}


def _parquet_rows(home: Path) -> dict[str, list[tuple]]:
    """Every lake Parquet file's rows as text, positions files left out."""
    files = sorted(path for path in (home / "lake/orders").rglob("*.parquet") if not path.name.endswith(".rows.parquet"))
    return {str(path): [tuple(str(value) for value in row.values()) for row in pq.read_table(path).to_pylist()] for path in files}


def _decompressed(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _erase(cli, *args: str):
    return cli.run("erase", "--dataset", "orders", "--where", f"email={GIVEN}", *args)


def _count(output: str, place: str) -> int:
    return int(re.search(rf"{place}: (?:would remove|removed) (\d+)", output)[1])


def _check_erasure(cli, tmp_path: Path, subject_forms: tuple[str, ...]) -> None:
    """Dry run, erase, rerun the windows, erase again; `subject_forms` are how the lake and table hold the value."""
    home = cli.home

    def is_subject(row: tuple) -> bool:
        return any(str(value).strip().lower() in subject_forms for value in row)

    tables_before = {table: _rows(cli, table) for table in TABLES}
    assert sum(is_subject(row) for row in tables_before[TABLES[0]]) == 2 and sum(is_subject(row) for row in tables_before[TABLES[1]]) == 1
    files_before, parquet_before = _file_bytes(home), _parquet_rows(home)
    ledger_before = _sql(cli, f"SELECT COUNT(*) AS N FROM {LEDGER}")[0]["N"]

    dry = _erase(cli, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert (_count(dry.stdout, "table"), _count(dry.stdout, "quarantine table"), _count(dry.stdout, "archived uploads")) == (2, 1, 3)
    assert "records in 2 files" in dry.stdout and "uploads 3," in dry.stdout and "audit record" not in dry.stdout
    assert _file_bytes(home) == files_before and {table: _rows(cli, table) for table in TABLES} == tables_before
    assert _sql(cli, f"SELECT COUNT(*) AS N FROM {LEDGER}")[0]["N"] == ledger_before

    erased = _erase(cli)
    assert erased.returncode == 0, erased.stderr
    assert (_count(erased.stdout, "table"), _count(erased.stdout, "quarantine table"), _count(erased.stdout, "archived uploads")) == (2, 1, 3)
    assert not any(form in (erased.stdout + erased.stderr).lower() for form in (*subject_forms, GIVEN.lower()))
    for table in TABLES:
        assert _rows(cli, table) == [row for row in tables_before[table] if not is_subject(row)]
    parquet_after = _parquet_rows(home)
    assert parquet_after.keys() == parquet_before.keys()
    for path, rows in parquet_before.items():
        assert parquet_after[path] == [row for row in rows if not is_subject(row)], path
    _check_positions(home / "lake/orders")
    archived = [path for path in (home / "archive/orders").rglob("*") if path.is_file() and not path.name.endswith(".json")]
    assert len(archived) == 2
    texts = [_decompressed(path).decode() for path in archived]
    assert all("customer1@example.com" not in text.lower() for text in texts)
    # the other records are kept byte for byte, a quoted field with doubled quotes included
    assert sorted(texts) == sorted([DAY_ONE.replace('1,Customer1@Example.COM,paid,"first\norder"\n', ""), "".join(
        line for line in DAY_TWO.splitlines(keepends=True) if "customer1" not in line.lower())])
    for path in archived:  # each file is named by its new content hash, its record pointing at it
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        assert path.name.startswith(sha) and json.loads((path.parent / f"{sha}.meta.json").read_text())["sha256"] == sha

    ledger = _sql(cli, f"SELECT * FROM {LEDGER} WHERE \"STATUS\" = 'erased'")
    assert len(ledger) == 1 and ledger[0]["ROWS_DELETED"] > 0 and ledger[0]["RUN_ID"].startswith("erase-") and ledger[0]["ACTOR"] == "dpo-test"
    assert ledger[0]["LOAD_ID"] in erased.stdout
    assert not any(form in json.dumps(ledger).lower() for form in (*subject_forms, GIVEN.lower()))

    _materialize(cli)  # a rerun of both windows rebuilds every file from the archive: the subject stays gone
    for table in TABLES:
        assert _rows(cli, table) == [row for row in tables_before[table] if not is_subject(row)]
    assert not any(is_subject(row) for rows in _parquet_rows(home).values() for row in rows)

    again = _erase(cli)
    assert again.returncode == 0, again.stderr
    assert (_count(again.stdout, "table"), _count(again.stdout, "quarantine table"), _count(again.stdout, "lake files"), _count(again.stdout, "archived uploads")) == (0, 0, 0, 0)


def _check_positions(lake: Path) -> None:
    """Each window's positions file names exactly its quarantined rows of the rewritten loadable file."""
    for positions in (lake / "quarantine").glob("*.rows.parquet"):
        kept = pq.read_table(lake / "loadable" / positions.name.replace(".rows", "")).to_pylist()
        listed = pq.read_table(positions).column("_row").to_pylist()
        quarantined = pq.read_table(lake / "quarantine" / positions.name.replace(".rows", "")).to_pylist()
        assert sorted(kept[row]["order_id"] for row in listed) == sorted(row["order_id"] for row in quarantined)


def test_erase_removes_one_subject_everywhere_and_nothing_else(cli, tmp_path):
    _configure(cli, tmp_path)
    cli.env["ETL_ASSETS_ACTOR"] = "dpo-test"
    _load_two_windows(cli, tmp_path)
    _check_erasure(cli, tmp_path, (SUBJECT,))


def test_erase_of_a_hashed_column_finds_its_tokens(cli, tmp_path):
    _configure(cli, tmp_path, compliance="compliance: {mask: {email: hash}}")
    cli.env.update(ETL_ASSETS_ACTOR="dpo-test", ETL_ASSETS_FERNET_KEY=cli.run("credentials", "new-key").stdout.strip())
    stored = cli.run("credentials", "set", "pii_hash_key", "--kind", "hash_key", "--password-stdin", input=KEY + "\n")
    assert stored.returncode == 0, stored.stderr
    _load_two_windows(cli, tmp_path)
    token = HashKey(KEY.encode()).token(SUBJECT)
    assert {row[1] for row in _rows(cli, TABLES[0])} >= {token}  # the table holds tokens, not emails
    _check_erasure(cli, tmp_path, (SUBJECT, token))


def test_erase_refuses_with_one_sentence_and_changes_nothing(cli, tmp_path):
    _configure(cli, tmp_path)
    refusals = {
        ("--dataset", "nope", "--where", "email=a@b.c"): "has no dataset 'nope'",
        ("--dataset", "orders", "--where", "nope=1"): "has no column 'nope'",
        ("--dataset", "orders", "--where", "email"): "--where takes COLUMN=VALUE",
    }
    for args, message in refusals.items():
        assert_refused(cli.run("erase", *args), message)
    _configure(cli, tmp_path, compliance="compliance: {mask: {email: redact}}")
    assert_refused(cli.run("erase", "--dataset", "orders", "--where", "email=a@b.c"), "is redacted")
    _configure(cli, tmp_path, compliance="compliance: {mask: {email: hash}}")
    cli.env["ETL_ASSETS_FERNET_KEY"] = cli.run("credentials", "new-key").stdout.strip()
    assert_refused(cli.run("erase", "--dataset", "orders", "--where", "email=a@b.c"), "--kind hash_key --generate")
    _configure(cli, tmp_path, connection="prod")
    assert_refused(cli.run("erase", "--dataset", "orders", "--where", "email=a@b.c"), "which is not in the vault")


def test_erase_refuses_an_archive_it_cannot_rewrite_before_changing_anything(cli, tmp_path):
    _configure(cli, tmp_path)
    _load_two_windows(cli, tmp_path)
    window = cli.home / "archive/orders/2026-11-01"
    workbook = b"PK\x03\x04" + b"\0" * 26 + b"xl/workbook.xml"
    sha = hashlib.sha256(workbook).hexdigest()
    (window / f"{sha}.xlsx").write_bytes(workbook)
    record = {"original_name": "orders_2026-11-01b.xlsx", "arrived_at": "2026-11-01T10:00:00+00:00", "size": len(workbook), "sha256": sha, "archived_at": "2026-11-01T10:00:00+00:00"}
    (window / f"{sha}.meta.json").write_text(json.dumps(record))
    files_before, rows_before = _file_bytes(cli.home), _rows(cli, TABLES[0])
    assert_refused(_erase(cli), "orders_2026-11-01b.xlsx")
    assert _file_bytes(cli.home) == files_before and _rows(cli, TABLES[0]) == rows_before
    assert _sql(cli, f"SELECT COUNT(*) AS N FROM {LEDGER} WHERE \"STATUS\" = 'erased'")[0]["N"] == 0


def assert_refused(result, message: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "a@b.c" not in result.stderr and "customer1" not in result.stderr.lower()
