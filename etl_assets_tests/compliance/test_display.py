"""What is shown of a PII column: counts, lengths and shapes, never a value; other columns are shown as before."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.compliance.display import HIDDEN, masked_profile, masked_records, masked_rows, masked_shape, masked_text
from etl_assets.profiling.profiler import profile_parquet
from etl_assets.profiling.report import render_report

EMAILS = ["zoë.ünal@exämple.org", "ann@example.com", "bob@example.com"]
PHONES = ["+33 6 12 34 56 78", "+1 (555) 010-4477", "0044 7700 900123"]
SCORES = [1234567, 7654321, 5550104]


def profile_of(tmp_path):
    path = tmp_path / "upload.parquet"
    rows = 30
    pq.write_table(
        pa.table({
            "email": [EMAILS[i % 3] for i in range(rows)],
            "phone": [PHONES[i % 3] for i in range(rows)],
            "loyalty_number": [SCORES[i % 3] for i in range(rows)],
            "status": ["paid", "shipped", "refunded"] * 10,
        }),
        path,
    )  # fmt: skip
    return profile_parquet(path)


def test_a_pii_columns_values_are_hidden_and_its_counts_kept(tmp_path):
    profile = profile_of(tmp_path)
    shown = masked_profile(profile, {"email", "phone", "loyalty_number"})

    email, number = shown.column("email"), shown.column("loyalty_number")
    assert (email.min, email.max, number.mean, number.stddev) == (HIDDEN, HIDDEN, HIDDEN, HIDDEN)
    assert set(number.quantiles.values()) == {HIDDEN}
    assert [bin_[:2] for bin_ in number.histogram] == [[HIDDEN, HIDDEN]] * len(number.histogram)
    assert [count for *_, count in number.histogram] == [count for *_, count in profile.column("loyalty_number").histogram]
    assert email.top_values == [[HIDDEN, 10]] * 3
    assert (email.null_count, email.distinct_count, email.length) == (0, 3, profile.column("email").length)
    assert shown.column("status") == profile.column("status"), "a column that is not PII is shown as it was"
    assert shown.row_count == profile.row_count and shown.key_candidates == profile.key_candidates


def test_shapes_keep_no_character_of_a_value(tmp_path):
    shapes = [shape for shape, _ in masked_profile(profile_of(tmp_path), {"email"}).column("email").pattern_sample]
    assert "aaa@aaaaaaa.aaa" in shapes
    assert any(shape.startswith("aaa.aaaa@aaaaaaa") for shape in shapes), "ë, ü and ä stand in as letters too"
    assert masked_shape("Zoë-٣ ß") == "Aaa-9 a"


def test_the_report_shows_no_value_of_a_pii_column_but_every_value_of_the_others(tmp_path):
    profile = profile_of(tmp_path)
    html = render_report(masked_profile(profile, {"email", "phone", "loyalty_number"}), dataset="shop", window_key="2026-11-19")

    for value in [*EMAILS, *PHONES, *(str(score) for score in SCORES), "1,234,567", "example", "exämple"]:
        assert value.lower() not in html.lower()
    assert "paid" in html and "refunded" in html, "the scan finds what is shown"
    assert HIDDEN in html and "30" in html


def test_rows_records_and_raw_lines_are_hidden_by_column():
    assert masked_rows(["id", "email"], [[1, "ann@example.com"], [2, None]], {"email"}) == [[1, HIDDEN], [2, None]]
    assert masked_records([{"id": 1, "email": "ann@example.com"}], {"email"}) == [{"id": 1, "email": HIDDEN}]
    assert masked_text("5001,ann@example.com,paid") == f"{HIDDEN} (25 characters)"
