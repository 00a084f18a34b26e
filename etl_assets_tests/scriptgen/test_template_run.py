"""Generated template scripts run in a real subprocess on dirty upload Parquet files."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import TransformConfig
from etl_assets.scriptgen.template import render_template_script
from etl_assets_tests.scriptgen.builders import (
    ORDERS_SOURCE_TYPES,
    ORDERS_TRANSFORM,
    arrival,
    run_ok,
    run_script,
    run_script_with,
    save_code,
    write_upload,
)

pytestmark = pytest.mark.slow

ORDERS_HEADERS = ["order_id", "email", "order_date", "gross_amount", "discount", "status"]
LINEAGE_TYPES = [
    ("_source_file", pa.string()),
    ("_source_row", pa.int64()),
    ("_arrived_at", pa.timestamp("us", tz="UTC")),
]


def _order(file: str, row: int, hour: int, order_id, email, order_date, gross, discount, status) -> dict:
    return {
        "order_id": order_id,
        "email": email,
        "order_date": order_date,
        "gross_amount": gross,
        "discount": discount,
        "status": status,
        "_source_file": file,
        "_source_row": row,
        "_arrived_at": arrival(hour),
    }


def _cleaned(order_id, email, order_date, gross, discount, net, status, file: str, row: int, hour: int) -> dict:
    """An expected output row; amounts as decimal strings."""
    amounts = [None if amount is None else Decimal(amount) for amount in (gross, discount, net)]
    return {
        "order_id": order_id,
        "email": email,
        "order_date": order_date,
        "gross_amount": amounts[0],
        "discount": amounts[1],
        "net_amount": amounts[2],
        "status": status,
        "_source_file": file,
        "_source_row": row,
        "_arrived_at": arrival(hour),
    }


DIRTY_ORDERS = [
    _order("a.csv", 2, 8, "1", "  Alice@Example.COM ", "2026-11-20", "100.00", "10", " paid"),
    _order("a.csv", 3, 8, "2", "BOB@example.com", "2026-11-20", "abc", "0", "shipped"),
    _order("a.csv", 4, 8, "abc", "carol@example.com", "20/11/2026", "-5.50", "", "paid"),
    _order("a.csv", 5, 8, None, "dave@example.com", "2026-11-19", "7", "1.5", None),
    _order("b.csv", 2, 9, "1", "Alice.New@Example.com", "2026-11-21", "120.505", "20.25", "refunded"),
    _order("b.csv", 3, 9, "3", None, "2026-11-21", "30", "-2", "paid"),
    _order("b.csv", 4, 9, "3", "erin@example.com", "2026-11-22", "31", "1", "paid"),
]


def _orders_script(tmp_path: Path) -> Path:
    code = render_template_script("orders", TransformConfig.model_validate(ORDERS_TRANSFORM), ORDERS_SOURCE_TYPES)
    return save_code(tmp_path, code)


def test_orders_script_cleans_types_computes_and_deduplicates(tmp_path: Path) -> None:
    upload = write_upload(tmp_path / "2026-11-20.parquet", DIRTY_ORDERS, ORDERS_HEADERS)

    counts, output = run_ok(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    assert counts == {"rows_in": 7, "rows_out": 5, "rows_deduplicated": 2}
    decimal = pa.decimal128(12, 2)
    assert output.schema == pa.schema(
        [
            ("order_id", pa.int64()),
            ("email", pa.string()),
            ("order_date", pa.date32()),
            ("gross_amount", decimal),
            ("discount", decimal),
            ("net_amount", decimal),
            ("status", pa.string()),
            *LINEAGE_TYPES,
        ]
    )
    assert output.to_pylist() == [
        _cleaned(2, "bob@example.com", dt.date(2026, 11, 20), None, "0.00", None, "SHIPPED", "a.csv", 3, 8),
        _cleaned(None, "carol@example.com", None, "-5.50", None, None, "PAID", "a.csv", 4, 8),
        _cleaned(None, "dave@example.com", dt.date(2026, 11, 19), "7.00", "1.50", "5.50", None, "a.csv", 5, 8),
        _cleaned(
            1, "alice.new@example.com", dt.date(2026, 11, 21), "120.51", "20.25", "100.26", "REFUNDED", "b.csv", 2, 9
        ),
        _cleaned(3, "erin@example.com", dt.date(2026, 11, 22), "31.00", "1.00", "30.00", "PAID", "b.csv", 4, 9),
    ]


def test_orders_script_keeps_negative_amounts_for_the_quality_rules(tmp_path: Path) -> None:
    rows = [_order("a.csv", 2, 8, "9", "x@example.com", "2026-11-20", "-12.5", "2.5", "refunded")]
    upload = write_upload(tmp_path / "in.parquet", rows, ORDERS_HEADERS)

    _, output = run_ok(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    assert output.column("net_amount").to_pylist() == [Decimal("-15.00")]


def test_later_file_wins_over_earlier_file_with_the_same_arrival_time(tmp_path: Path) -> None:
    rows = [
        _order("b.csv", 2, 8, "5", "new@example.com", "2026-11-20", "1", "0", "paid"),
        _order("a.csv", 9, 8, "5", "old@example.com", "2026-11-20", "1", "0", "paid"),
    ]
    upload = write_upload(tmp_path / "in.parquet", rows, ORDERS_HEADERS)

    counts, output = run_ok(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    assert output.column("email").to_pylist() == ["new@example.com"]
    assert counts["rows_deduplicated"] == 1


def test_empty_upload_gives_an_empty_output_with_the_declared_types(tmp_path: Path) -> None:
    upload = write_upload(tmp_path / "in.parquet", [], ORDERS_HEADERS)

    counts, output = run_ok(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    assert counts == {"rows_in": 0, "rows_out": 0, "rows_deduplicated": 0}
    assert output.num_rows == 0
    assert output.schema.field("order_id").type == pa.int64()
    assert output.schema.field("net_amount").type == pa.decimal128(12, 2)
    assert output.schema.field("order_date").type == pa.date32()
    assert output.schema.names[-3:] == ["_source_file", "_source_row", "_arrived_at"]


def test_passthrough_casts_every_source_column_to_its_inferred_type(tmp_path: Path) -> None:
    source_types = {
        "Customer ID": "integer",
        "Score": "float",
        "Active": "boolean",
        "Signed Up": "timestamp",
        "Balance": "decimal(10,3)",
        "Name": "string",
    }
    headers = ["customer_id", "score", "active", "signed_up", "balance", "name"]
    rows = [
        {"customer_id": "7", "score": "2.5", "active": "true", "signed_up": "2026-11-20 10:00:00+02:00",
         "balance": "1.2345", "name": " Ann ", "_source_file": "c.csv", "_source_row": 2, "_arrived_at": arrival(8)},
        {"customer_id": "x", "score": "n/a", "active": "maybe", "signed_up": "yesterday",
         "balance": "", "name": None, "_source_file": "c.csv", "_source_row": 3, "_arrived_at": arrival(8)},
    ]
    upload = write_upload(tmp_path / "in.parquet", rows, headers)
    script = save_code(tmp_path, render_template_script("customers", None, source_types))

    counts, output = run_ok(script, upload, tmp_path / "out.parquet")

    assert counts == {"rows_in": 2, "rows_out": 2, "rows_deduplicated": 0}
    assert output.schema == pa.schema(
        [
            ("customer_id", pa.int64()),
            ("score", pa.float64()),
            ("active", pa.bool_()),
            ("signed_up", pa.timestamp("us")),
            ("balance", pa.decimal128(10, 3)),
            ("name", pa.string()),
            *LINEAGE_TYPES,
        ]
    )
    assert [tuple(row.values())[:6] for row in output.to_pylist()] == [
        (7, 2.5, True, dt.datetime(2026, 11, 20, 8, 0), Decimal("1.235"), " Ann "),
        (None, None, None, None, None, None),
    ]


def test_passthrough_with_only_deduplicate_on_uses_the_normalised_source_names(tmp_path: Path) -> None:
    transform = TransformConfig.model_validate({"deduplicate_on": ["Customer ID"]})
    rows = [
        {"customer_id": "1", "_source_file": "a.csv", "_source_row": 2, "_arrived_at": arrival(8)},
        {"customer_id": "1", "_source_file": "a.csv", "_source_row": 3, "_arrived_at": arrival(8)},
    ]
    upload = write_upload(tmp_path / "in.parquet", rows, ["customer_id"])
    script = save_code(tmp_path, render_template_script("customers", transform, {"Customer ID": "integer"}))

    counts, output = run_ok(script, upload, tmp_path / "out.parquet")

    assert counts == {"rows_in": 2, "rows_out": 1, "rows_deduplicated": 1}
    assert output.column("_source_row").to_pylist() == [3]


def test_standalone_run_prints_the_counts_as_one_json_line(tmp_path: Path) -> None:
    upload = write_upload(tmp_path / "in.parquet", DIRTY_ORDERS[:2], ORDERS_HEADERS)

    completed = run_script(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == '{"rows_in": 2, "rows_out": 2, "rows_deduplicated": 0}\n'


def test_one_run_transforms_each_pair_and_prints_each_window_counts(tmp_path: Path) -> None:
    busy = write_upload(tmp_path / "busy.parquet", DIRTY_ORDERS[:2], ORDERS_HEADERS)
    empty = write_upload(tmp_path / "empty.parquet", [], ORDERS_HEADERS)
    pairs = [("2026-11-19", busy, tmp_path / "busy.out"), ("2026-11-20", empty, tmp_path / "empty.out")]
    arguments = [text for window, upload, out in pairs for text in ("--window", window, "--input", str(upload), "--output", str(out))]

    completed = run_script_with(_orders_script(tmp_path), arguments)

    assert completed.returncode == 0, completed.stderr
    assert [json.loads(line) for line in completed.stdout.splitlines()] == [
        {"window": "2026-11-19", "rows_in": 2, "rows_out": 2, "rows_deduplicated": 0},
        {"window": "2026-11-20", "rows_in": 0, "rows_out": 0, "rows_deduplicated": 0},
    ]
    assert pq.read_schema(tmp_path / "empty.out") == pq.read_schema(tmp_path / "busy.out")


def test_a_pair_that_fails_names_its_window_after_the_earlier_pairs_are_written(tmp_path: Path) -> None:
    good = write_upload(tmp_path / "good.parquet", DIRTY_ORDERS[:2], ORDERS_HEADERS)
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    arguments = ["--window", "2026-11-19", "--input", str(good), "--output", str(tmp_path / "good.out")]
    arguments += ["--window", "2026-11-20", "--input", str(broken), "--output", str(tmp_path / "broken.out")]

    completed = run_script_with(_orders_script(tmp_path), arguments)

    assert completed.returncode == 1
    assert "orders failed on window 2026-11-20" in completed.stderr
    assert (tmp_path / "good.out").exists() and not (tmp_path / "broken.out").exists()


def test_unpaired_inputs_and_outputs_are_refused(tmp_path: Path) -> None:
    upload = write_upload(tmp_path / "in.parquet", DIRTY_ORDERS[:2], ORDERS_HEADERS)
    arguments = ["--input", str(upload), "--input", str(upload), "--output", str(tmp_path / "out.parquet")]

    completed = run_script_with(_orders_script(tmp_path), arguments)

    assert completed.returncode == 2
    assert "one --output" in completed.stderr
    assert not (tmp_path / "out.parquet").exists()


def test_script_writes_only_its_output(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    upload = write_upload(work / "in.parquet", DIRTY_ORDERS, ORDERS_HEADERS)
    script = _orders_script(tmp_path)

    run_ok(script, upload, work / "out.parquet")

    assert sorted(path.name for path in work.iterdir()) == ["in.parquet", "out.parquet"]


def test_missing_input_column_fails_with_a_message_and_writes_nothing(tmp_path: Path) -> None:
    row = {"order_id": "1", "email": "a@b.c", "_source_file": "a.csv", "_source_row": 2, "_arrived_at": None}
    upload = write_upload(tmp_path / "in.parquet", [row], ["order_id", "email"])

    completed = run_script(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    assert completed.returncode == 1
    assert "lacks the columns ['order_date', 'gross_amount', 'discount', 'status']" in completed.stderr
    assert not (tmp_path / "out.parquet").exists()


def test_an_empty_window_without_columns_gets_the_typed_output_of_its_range(tmp_path: Path) -> None:
    # no file arrived for the window, so its upload has only lineage; the range's script still types its output
    upload = write_upload(tmp_path / "in.parquet", [], [])

    counts, output = run_ok(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    assert counts == {"rows_in": 0, "rows_out": 0, "rows_deduplicated": 0}
    assert output.schema.field("order_id").type == pa.int64()
    assert output.schema.field("net_amount").type == pa.decimal128(12, 2)


def test_rerun_replaces_the_output_with_identical_rows(tmp_path: Path) -> None:
    upload = write_upload(tmp_path / "in.parquet", DIRTY_ORDERS, ORDERS_HEADERS)
    script = _orders_script(tmp_path)

    _, first = run_ok(script, upload, tmp_path / "out.parquet")
    _, second = run_ok(script, upload, tmp_path / "out.parquet")

    assert first.equals(second)
    assert pq.read_metadata(tmp_path / "out.parquet").num_rows == 5


def test_a_window_without_duplicate_keys_keeps_every_row_in_file_and_row_order(tmp_path: Path) -> None:
    unique = [row for row in DIRTY_ORDERS if row["order_id"] not in ("1", "3")]
    upload = write_upload(tmp_path / "in.parquet", unique, ORDERS_HEADERS)

    counts, output = run_ok(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    assert counts["rows_deduplicated"] == 0 and output.num_rows == len(unique)
    lineage = list(zip(output.column("_source_file").to_pylist(), output.column("_source_row").to_pylist()))
    assert lineage == sorted(lineage)


def test_the_script_sql_reads_no_file_but_its_input(tmp_path: Path) -> None:
    # the config validator refuses file functions in expressions; the script's DuckDB refuses them too
    upload = write_upload(tmp_path / "in.parquet", DIRTY_ORDERS, ORDERS_HEADERS)
    secret = tmp_path / "secret.csv"
    secret.write_text("token\nhunter2\n")
    script = _orders_script(tmp_path)
    code = script.read_text()
    script.write_text(code.replace("'\"order_id\"',\n", f"'\"order_id\"',\n    \"(SELECT max(token) FROM read_csv('{secret}')) AS stolen\",\n", 1))

    completed = run_script(script, upload, tmp_path / "out.parquet")

    assert completed.returncode != 0
    assert "file system operations are disabled" in completed.stderr
    assert not (tmp_path / "out.parquet").exists()


def test_a_window_bigger_than_the_memory_limit_spills_and_loads_whole(tmp_path: Path, monkeypatch) -> None:
    rows = [{**DIRTY_ORDERS[0], "order_id": str(n), "_source_row": n + 2} for n in range(200_000)]
    rows += [{**DIRTY_ORDERS[0], "order_id": "7", "_source_row": 200_002}]  # a duplicate: the ranking query runs too
    upload = write_upload(tmp_path / "in.parquet", rows, ORDERS_HEADERS)
    monkeypatch.setenv("ETL_ASSETS_DUCKDB_MEMORY_LIMIT", "48MB")

    counts, output = run_ok(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    assert counts == {"rows_in": 200_001, "rows_out": 200_000, "rows_deduplicated": 1}
    assert sorted(output.column("order_id").to_pylist()) == list(range(200_000))
    assert output.column("_source_row").to_pylist() == sorted(output.column("_source_row").to_pylist()), "ranked rows are put back in order"


def test_a_big_window_without_duplicates_keeps_the_upload_order_without_sorting(tmp_path: Path) -> None:
    # no ORDER BY runs for such a window: DuckDB's scan on both cores must still hand the rows over in order;
    # the rows are laid out against sort order (file b before file a, rows counting down) so a sort would show
    rows = [{**DIRTY_ORDERS[0], "order_id": str(n), "_source_file": "b.csv" if n < 150_000 else "a.csv",
             "_source_row": 300_000 - n} for n in range(300_000)]  # fmt: skip
    upload = tmp_path / "in.parquet"
    pq.write_table(pq.read_table(write_upload(upload, rows, ORDERS_HEADERS)), upload, row_group_size=10_000)

    counts, output = run_ok(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    assert counts["rows_deduplicated"] == 0
    assert output.column("order_id").to_pylist() == list(range(300_000))


def test_the_output_gets_the_permissions_of_any_file_the_user_writes(tmp_path: Path) -> None:
    # a private temp file renamed into place would leave the window readable by its owner alone
    import os
    import stat

    upload = write_upload(tmp_path / "in.parquet", DIRTY_ORDERS, ORDERS_HEADERS)
    umask = os.umask(0o022)
    try:
        run_ok(_orders_script(tmp_path), upload, tmp_path / "out.parquet")
    finally:
        os.umask(umask)

    assert stat.S_IMODE((tmp_path / "out.parquet").stat().st_mode) == 0o644


def test_only_output_columns_whose_values_repeat_are_dictionary_encoded(tmp_path: Path) -> None:
    rows = [{**DIRTY_ORDERS[0], "order_id": str(n), "email": f"user{n}@example.com"} for n in range(5_000)]
    upload = write_upload(tmp_path / "in.parquet", rows, ORDERS_HEADERS)

    run_ok(_orders_script(tmp_path), upload, tmp_path / "out.parquet")

    group = pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0)
    encodings = {group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)}
    assert "RLE_DICTIONARY" not in encodings["order_id"] and "RLE_DICTIONARY" not in encodings["email"]
    assert "RLE_DICTIONARY" in encodings["status"] and "RLE_DICTIONARY" in encodings["order_date"]
