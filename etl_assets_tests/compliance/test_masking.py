"""Masking a window's Parquet: tokens as HashKey.token gives them, NULL for redact, rows and other columns untouched,
the kept file and its positions masked with transformed, and the key nowhere in a file."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.compliance.hashing import HashKey, token_sql
from etl_assets.compliance.masking import (
    MASKING_UNFINISHED,
    hold_back_unmasked,
    is_masked,
    mask_window,
    mask_windows,
    pending_verdict,
    write_masked,
)
from etl_assets.errors import ConfigError
from etl_assets.excluded_rows import excluded_count, kept_count, write_excluded
from etl_assets.lake import QualityVerdict, stage_paths
from etl_assets.paths import ProjectPaths

KEY = HashKey(secrets.token_urlsafe(32).encode())
EMAILS = ["ann@example.com", "bob@example.com", None, "ann@example.com", "zoë@exämple.org"]


def window_table(rows: int = len(EMAILS)) -> pa.Table:
    emails = (EMAILS * (rows // len(EMAILS) + 1))[:rows]
    return pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "email": pa.array(emails, pa.string()),
            "phone": pa.array([f"+33 6 12 34 {i:04d}" for i in range(rows)], pa.string()),
            "amount": pa.array([Decimal(f"{i}.25") for i in range(rows)], pa.decimal128(12, 2)),
            "seen_at": pa.array([dt.datetime(2026, 11, 19, i % 24, tzinfo=dt.UTC) for i in range(rows)], pa.timestamp("us", tz="UTC")),
            "customer_id": pa.array([100 + i for i in range(rows)], pa.int64()),
        }
    )


def written(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def key_bytes_forms(key: HashKey) -> list[bytes]:
    """The key as its bytes, as hex, and as the pads the SQL is given: none may be in a written file."""
    return [key.secret, key.secret.hex().encode(), *key.sql_parameters().values()]


@pytest.mark.parametrize("value", ["ann@example.com", "zoë@exämple.org", "名前", "", " spaced ", "42"])
def test_token_sql_gives_the_token_python_gives_for_text(value):
    with duckdb.connect() as connection:
        found = connection.execute(f"SELECT {token_sql('$value')}", {**KEY.sql_parameters(), "value": value}).fetchone()[0]
    assert found == KEY.token(value)
    assert len(found) == 64 and all(c in "0123456789abcdef" for c in found)


def test_token_sql_gives_null_for_null_and_the_text_token_for_integers():
    with duckdb.connect() as connection:
        rows = connection.execute(
            f"SELECT {token_sql('n')}, {token_sql('t')} FROM (VALUES (42::BIGINT, NULL::VARCHAR), (-7::BIGINT, NULL)) v(n, t)",
            KEY.sql_parameters(),
        ).fetchall()
    assert rows == [(KEY.token("42"), None), (KEY.token("-7"), None)]


def test_masking_hashes_redacts_and_leaves_every_other_column_and_the_row_order_as_they_were(tmp_path):
    source = written(window_table(), tmp_path / "window.parquet")
    target = tmp_path / "masked.parquet"
    write_masked(source, target, {"email": "hash", "phone": "redact", "amount": "none"}, KEY)

    before, after = pq.read_table(source), pq.read_table(target)
    assert after.column("email").to_pylist() == [KEY.token(e) if e is not None else None for e in EMAILS]
    assert after.column("email").to_pylist()[0] == after.column("email").to_pylist()[3], "the same value, the same token"
    assert after.column("phone").null_count == len(EMAILS) and after.schema.field("phone").type == pa.string()
    for name in ("id", "amount", "seen_at", "customer_id"):
        assert after.schema.field(name) == before.schema.field(name)
        assert after.column(name).equals(before.column(name)), name
    assert is_masked(target) and not is_masked(source)


def test_redact_keeps_the_column_type_and_hash_makes_an_integer_column_text(tmp_path):
    source = written(window_table(), tmp_path / "window.parquet")
    target = tmp_path / "masked.parquet"
    write_masked(source, target, {"amount": "redact", "customer_id": "hash"}, KEY)
    after = pq.read_table(target)
    assert after.schema.field("amount").type == pa.decimal128(12, 2) and after.column("amount").null_count == len(EMAILS)
    assert after.schema.field("customer_id").type == pa.string()
    assert after.column("customer_id").to_pylist() == [KEY.token(str(100 + i)) for i in range(len(EMAILS))]


def test_a_big_window_keeps_its_row_order_across_batches(tmp_path):
    rows = 200_000
    source = written(window_table(rows), tmp_path / "window.parquet")
    target = tmp_path / "masked.parquet"
    write_masked(source, target, {"phone": "redact"}, KEY)
    assert pq.read_table(target, columns=["id"]).column("id").to_pylist() == list(range(rows))


def test_the_key_is_nowhere_in_the_masked_file_its_metadata_or_an_error(tmp_path):
    source = written(window_table(), tmp_path / "window.parquet")
    target = tmp_path / "masked.parquet"
    write_masked(source, target, {"email": "hash", "phone": "redact"}, KEY)
    content = target.read_bytes()
    assert not [form for form in key_bytes_forms(KEY) if form in content]
    metadata = pq.read_schema(target).metadata
    assert b"etl_assets.masked" in metadata and not [form for form in key_bytes_forms(KEY) if any(form in v for v in metadata.values())]
    assert "secret" not in repr(KEY) and KEY.secret.decode() not in repr(KEY)

    with pytest.raises(ConfigError) as missing:
        write_masked(source, tmp_path / "other.parquet", {"mail": "hash"}, KEY)
    assert "mail" in str(missing.value) and KEY.secret.decode() not in str(missing.value)


def test_a_hash_mask_without_a_key_writes_nothing(tmp_path):
    source = written(window_table(), tmp_path / "window.parquet")
    with pytest.raises(ConfigError):
        write_masked(source, tmp_path / "masked.parquet", {"email": "hash"}, None)
    assert not (tmp_path / "masked.parquet").exists()


def a_quarantined_window(tmp_path: Path):
    """A window as quality/evaluate.py leaves it: kept is a hard link of transformed, row 1 quarantined."""
    stage = stage_paths(ProjectPaths(tmp_path / "home"), "signups", "2026-11-19")
    table = window_table()
    written(table, stage.transformed)
    stage.kept.parent.mkdir(parents=True, exist_ok=True)
    os.link(stage.transformed, stage.kept)
    written(table.slice(1, 1), stage.quarantine)
    write_excluded(stage.kept, pa.array([1], pa.int64()), stage.excluded)
    verdict = QualityVerdict((), stage.kept, stage.quarantine, 1, 0.8, stage.excluded)
    return stage, verdict


def test_a_window_masks_transformed_the_kept_link_and_the_quarantine_and_its_positions_still_hold(tmp_path):
    stage, verdict = a_quarantined_window(tmp_path)
    mask_window(stage, verdict, {"email": "hash", "phone": "redact"}, KEY)

    assert os.path.samefile(stage.kept, stage.transformed), "kept is the masked file, not the old unmasked inode"
    assert excluded_count(stage.kept, stage.excluded) == 1 and kept_count(stage.kept, stage.excluded) == len(EMAILS) - 1
    for path in (stage.transformed, stage.kept, stage.quarantine):
        table = pq.read_table(path)
        assert is_masked(path)
        assert not {e for e in EMAILS if e} & set(table.column("email").to_pylist()), path
        assert not [e for e in EMAILS if e and e.encode() in path.read_bytes()], path
        assert table.column("phone").null_count == table.num_rows
    assert pq.read_table(stage.quarantine).column("email").to_pylist() == [KEY.token("bob@example.com")]
    assert [p.name for p in stage.transformed.parent.iterdir()] == [stage.transformed.name], "no temp file left"

    # a second pass changes nothing: tokens are not hashed again
    before = stage.transformed.read_bytes()
    mask_window(stage, verdict, {"email": "hash", "phone": "redact"}, KEY)
    assert stage.transformed.read_bytes() == before


def test_a_window_whose_kept_file_is_a_copy_gets_the_masked_bytes_too(tmp_path):
    stage, verdict = a_quarantined_window(tmp_path)
    stage.kept.unlink()
    stage.kept.write_bytes(stage.transformed.read_bytes())
    write_excluded(stage.kept, pa.array([1], pa.int64()), stage.excluded)
    mask_window(stage, verdict, {"email": "hash"}, KEY)
    assert stage.kept.read_bytes() == stage.transformed.read_bytes()
    assert excluded_count(stage.kept, stage.excluded) == 1


def test_a_verdict_takes_effect_only_once_the_window_is_masked(tmp_path):
    stage, verdict = a_quarantined_window(tmp_path)
    hold_back_unmasked(stage)
    assert stage.read_verdict().blocked_by == (MASKING_UNFINISHED,)
    pending = pending_verdict(stage)
    pending.write_verdict(verdict)
    assert stage.read_verdict().blocked, "the verdict kept aside does not let the window load yet"

    with pytest.raises(ConfigError):
        mask_windows([stage], [pending], {"mail": "hash"}, KEY)
    assert stage.read_verdict().blocked_by == (MASKING_UNFINISHED,), "a failed masking leaves the load held back"

    mask_windows([stage], [pending], {"email": "hash"}, KEY)
    assert stage.read_verdict() == verdict and not pending.verdict.exists()
