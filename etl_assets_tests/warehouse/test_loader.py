"""load_window against the real emulator: every strategy, idempotence, duplicates, empty windows, odd names."""

from __future__ import annotations

import dataclasses
import functools
import datetime as dt
import json
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.ledger import LoadLedger
from etl_assets.warehouse.load_file import write_load_files
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.model import LoadRequest

pytestmark = pytest.mark.integration

DAY_1 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY_2 = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
DAY_3 = dt.datetime(2026, 1, 3, tzinfo=dt.UTC)


@pytest.fixture
def schema_name() -> str:
    """A fresh schema per test, so tests never see each other's tables."""
    return f"S_{uuid.uuid4().hex[:8].upper()}"


def write_parquet(path: Path, columns: dict) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def request_for(path: Path, schema: str, strategy: str, keys=(), start=DAY_1, end=DAY_2, run_id="run-1") -> LoadRequest:
    return LoadRequest(
        database="LOADS",
        schema=schema,
        table="orders",
        strategy=strategy,
        keys=list(keys),
        window_key=start.date().isoformat(),
        window_start=start,
        window_end=end,
        run_id=run_id,
        parquet_path=path,
    )


def table_rows(connection, schema: str, columns: str = '"order_id", "amount"') -> list[tuple]:
    return connection.cursor().execute(f'SELECT {columns} FROM "LOADS"."{schema}"."ORDERS" ORDER BY 1, 2').fetchall()


def stray_tables(connection, schema: str) -> list[str]:
    cursor = connection.cursor().execute(
        "SELECT table_name FROM \"LOADS\".information_schema.tables WHERE table_schema = %s AND table_name <> 'ORDERS'",
        (schema,),
    )
    return [row[0] for row in cursor.fetchall()]


def test_merge_twice_leaves_the_same_rows(warehouse_connection, emulator, schema_name, tmp_path):
    path = write_parquet(tmp_path / "orders.parquet", {"order_id": [1, 2, 3], "amount": [10.0, 20.0, 30.0]})
    first = load_window(warehouse_connection, request_for(path, schema_name, "merge", ["order_id"]))
    second = load_window(warehouse_connection, request_for(path, schema_name, "merge", ["order_id"], run_id="run-2"))

    assert (first.rows_inserted, first.rows_updated, first.rows_in_window) == (3, 0, 3)
    assert (second.rows_inserted, second.rows_updated, second.rows_in_window) == (0, 3, 3)
    assert table_rows(warehouse_connection, schema_name) == [(1, 10.0), (2, 20.0), (3, 30.0)]
    assert table_rows(warehouse_connection, schema_name, '"_run_id", "order_id"') == [("run-2", i) for i in (1, 2, 3)]
    assert stray_tables(warehouse_connection, schema_name) == []
    assert not [p for p in (emulator.warehouse_dir / "stages" / "LOADS" / schema_name).rglob("*") if p.is_file()]
    assert [p.name for p in tmp_path.iterdir()] == ["orders.parquet"]


def test_load_files_are_written_in_parts_with_added_columns(tmp_path):
    source = tmp_path / "source.parquet"
    pq.write_table(pa.table({"id": list(range(200_000)), "_run_id": ["old"] * 200_000}), source)
    (tmp_path / "out").mkdir()
    files = write_load_files(source, tmp_path / "out", (DAY_1, DAY_2), "new", rows_per_part=100_000)

    loaded = pq.read_table(tmp_path / "out")
    assert files.rows == 200_000
    assert [part.name for part in files.parts] == ["part-0.parquet", "part-1.parquet"]
    assert sum(pq.ParquetFile(part).metadata.num_rows for part in files.parts) == 200_000
    assert files.schema.names == [
        "id", "_source_file", "time_window_start", "time_window_end", "_run_id", "_loaded_at", "_staged_row"
    ]
    assert set(loaded.column("_run_id").to_pylist()) == {"new"}
    assert set(loaded.column("_source_file").to_pylist()) == {"source.parquet"}
    assert sorted(loaded.column("_staged_row").to_pylist()) == list(range(200_000))
    assert set(loaded.column("time_window_end").to_pylist()) == {DAY_2}


def test_a_window_file_whose_pages_are_damaged_is_refused_and_the_table_keeps_its_rows(warehouse_connection, schema_name, tmp_path):
    good = write_parquet(tmp_path / "good.parquet", {"order_id": [1, 2], "amount": [10.0, 20.0]})
    load_window(warehouse_connection, request_for(good, schema_name, "replace_window"))
    damaged = write_parquet(tmp_path / "damaged.parquet", {"order_id": list(range(100_000)), "amount": [1.5] * 100_000})
    data = bytearray(damaged.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 2_000] = b"\xff" * 2_000  # the footer and schema stay readable
    damaged.write_bytes(bytes(data))

    with pytest.raises(WarehouseError, match=r"^Cannot read .*damaged\.parquet to load window 2026-01-01 .*rerun its transform"):
        load_window(warehouse_connection, request_for(damaged, schema_name, "replace_window", run_id="run-2"))
    assert table_rows(warehouse_connection, schema_name) == [(1, 10.0), (2, 20.0)]


@pytest.mark.parametrize("folder", ["plain", "odd[1]"])
def test_one_put_stages_every_part_even_from_a_folder_named_like_a_wildcard(warehouse_connection, schema_name, tmp_path, monkeypatch, folder):
    # one PUT of part-*.parquet uploads the parts in parallel; the connector reads the path as a pattern, so an
    # unescaped "[1]" in the folder's name matched no file and the load failed
    (tmp_path / folder).mkdir()
    path = write_parquet(tmp_path / folder / "orders.parquet", {"order_id": list(range(1_000)), "amount": [1.0] * 1_000})
    monkeypatch.setattr("etl_assets.warehouse.loader.write_load_files", functools.partial(write_load_files, rows_per_part=100))

    result = load_window(warehouse_connection, request_for(path, schema_name, "replace_window"))

    assert result.rows_in_window == 1_000
    assert [row[0] for row in table_rows(warehouse_connection, schema_name)] == list(range(1_000))


def test_a_column_named_file_row_number_keeps_its_values_and_the_rows_their_numbers(tmp_path):
    # DuckDB numbers the rows through `file_row_number`; the file's own column of that name must not stand in
    source = write_parquet(tmp_path / "source.parquet", {"id": [1, 2, 3], "file_row_number": [7, 7, 7]})
    (tmp_path / "out").mkdir()

    files = write_load_files(source, tmp_path / "out", (DAY_1, DAY_2), "run")

    loaded = pq.read_table(files.parts).sort_by("id")
    assert loaded.column("file_row_number").to_pylist() == [7, 7, 7]
    assert loaded.column("_staged_row").to_pylist() == [0, 1, 2]


def test_a_first_merge_into_a_new_table_copies_straight_into_it_inside_its_transaction(warehouse_connection, schema_name, tmp_path):
    # no staging table: the keys were counted in the load files, and the new table holds none of them
    path = write_parquet(tmp_path / "orders.parquet", {"order_id": [1, 2, 3], "amount": [10.0, 20.0, 30.0]})
    first_steps, second_steps = [], []

    first = load_window(warehouse_connection, request_for(path, schema_name, "merge", ["order_id"]), None, first_steps.append)
    second = load_window(warehouse_connection, request_for(path, schema_name, "merge", ["order_id"], run_id="run-2"), None, second_steps.append)

    assert first_steps == ["ensure_target", "put", "begin", "strategy", "verify", "record", "commit", "committed"]
    assert second_steps == ["ensure_target", "put", "copy", "begin", "strategy", "verify", "record", "commit", "committed", "cleanup"]
    assert (first.rows_inserted, second.rows_updated) == (3, 3)
    assert table_rows(warehouse_connection, schema_name) == [(1, 10.0), (2, 20.0), (3, 30.0)]


def test_merge_keeps_the_latest_of_duplicate_keys(warehouse_connection, schema_name, tmp_path):
    path = write_parquet(
        tmp_path / "orders.parquet",
        {
            "order_id": [1, 1, 2, 1],
            "amount": [1.0, 3.0, 5.0, 2.0],
            "_arrived_at": pa.array(
                [dt.datetime(2026, 1, 1, h, tzinfo=dt.UTC) for h in (1, 3, 1, 2)], pa.timestamp("us", tz="UTC")
            ),
        },
    )
    result = load_window(warehouse_connection, request_for(path, schema_name, "merge", ["order_id"]))

    assert (result.rows_staged, result.rows_inserted) == (4, 2)
    assert table_rows(warehouse_connection, schema_name) == [(1, 3.0), (2, 5.0)]


def test_merge_without_lineage_keeps_the_last_row_of_the_file(warehouse_connection, schema_name, tmp_path):
    path = write_parquet(tmp_path / "orders.parquet", {"order_id": [7, 7, 7], "amount": [1.0, 2.0, 3.0]})
    load_window(warehouse_connection, request_for(path, schema_name, "merge", ["order_id"]))
    assert table_rows(warehouse_connection, schema_name) == [(7, 3.0)]


def test_replace_window_replaces_only_its_window(warehouse_connection, schema_name, tmp_path):
    day_1 = write_parquet(tmp_path / "d1.parquet", {"order_id": [1, 2], "amount": [1.0, 2.0]})
    day_2 = write_parquet(tmp_path / "d2.parquet", {"order_id": [3], "amount": [3.0]})
    day_1_again = write_parquet(tmp_path / "d1b.parquet", {"order_id": [4], "amount": [4.0]})
    load_window(warehouse_connection, request_for(day_1, schema_name, "replace_window"))
    load_window(warehouse_connection, request_for(day_2, schema_name, "replace_window", start=DAY_2, end=DAY_3))
    result = load_window(warehouse_connection, request_for(day_1_again, schema_name, "replace_window"))

    assert (result.rows_deleted, result.rows_inserted, result.rows_in_window) == (2, 1, 1)
    assert table_rows(warehouse_connection, schema_name) == [(3, 3.0), (4, 4.0)]


def test_an_empty_quarantine_file_empties_its_window(warehouse_connection, schema_name, tmp_path):
    full = write_parquet(tmp_path / "full.parquet", {"order_id": [1, 2], "amount": [1.0, 2.0]})
    empty = write_parquet(
        tmp_path / "empty.parquet", {"order_id": pa.array([], pa.int64()), "amount": pa.array([], pa.float64())}
    )
    load_window(warehouse_connection, request_for(full, schema_name, "replace_window"))
    emptying = dataclasses.replace(request_for(empty, schema_name, "replace_window"), load_empty=True)
    result = load_window(warehouse_connection, emptying)

    assert (result.rows_staged, result.rows_deleted, result.rows_in_window, result.skipped) == (0, 2, 0, None)
    assert table_rows(warehouse_connection, schema_name) == []


@pytest.mark.parametrize("strategy", ["merge", "replace_window", "append", "truncate_insert"])
def test_an_empty_window_loads_nothing_says_so_and_leaves_the_table(warehouse_connection, schema_name, tmp_path, strategy):
    full = write_parquet(tmp_path / "full.parquet", {"id": [1, 2], "amount": [1.0, 2.0]})
    # an upload of a window whose files held no rows: lineage columns only, no `id` to merge on
    empty = write_parquet(
        tmp_path / "empty.parquet",
        {"_source_file": pa.array([], pa.string()), "_source_row": pa.array([], pa.int64())},
    )
    load_window(warehouse_connection, request_for(full, schema_name, "append"))
    keys = ["id"] if strategy == "merge" else []
    ledger = LoadLedger(warehouse_connection, "LOADS", schema_name)

    result = load_window(warehouse_connection, request_for(empty, schema_name, strategy, keys, run_id="run-2"), ledger)

    assert result.skipped == "the window has no rows, so nothing was loaded and the table is unchanged"
    assert (result.rows_inserted, result.rows_deleted) == (0, 0)
    assert table_rows(warehouse_connection, schema_name, '"id", "amount"') == [(1, 1.0), (2, 2.0)]
    [entry] = ledger.recent()
    assert (entry["status"], entry["error"]) == ("skipped", result.skipped)


def test_append_twice_doubles_the_rows(warehouse_connection, schema_name, tmp_path):
    path = write_parquet(tmp_path / "orders.parquet", {"order_id": [1, 2], "amount": [1.0, 2.0]})
    load_window(warehouse_connection, request_for(path, schema_name, "append"))
    result = load_window(warehouse_connection, request_for(path, schema_name, "append", run_id="run-2"))

    assert (result.rows_inserted, result.rows_in_window) == (2, 4)
    assert table_rows(warehouse_connection, schema_name) == [(1, 1.0), (1, 1.0), (2, 2.0), (2, 2.0)]


def test_truncate_insert_replaces_every_window(warehouse_connection, schema_name, tmp_path):
    day_1 = write_parquet(tmp_path / "d1.parquet", {"order_id": [1, 2], "amount": [1.0, 2.0]})
    day_2 = write_parquet(tmp_path / "d2.parquet", {"order_id": [3], "amount": [3.0]})
    load_window(warehouse_connection, request_for(day_1, schema_name, "append"))
    truncate = request_for(day_2, schema_name, "truncate_insert", start=DAY_2, end=DAY_3)
    result = load_window(warehouse_connection, truncate)

    assert (result.rows_deleted, result.rows_inserted) == (2, 1)
    assert table_rows(warehouse_connection, schema_name) == [(3, 3.0)]


def test_added_columns_carry_window_run_and_load_time(warehouse_connection, schema_name, tmp_path):
    path = write_parquet(tmp_path / "orders.parquet", {"order_id": [1], "amount": [1.0]})
    before = dt.datetime.now(dt.UTC)
    load_window(warehouse_connection, request_for(path, schema_name, "append", run_id="abc"))
    [(start, end, run_id, loaded_at)] = table_rows(
        warehouse_connection, schema_name, '"time_window_start", "time_window_end", "_run_id", "_loaded_at"'
    )
    assert (start, end, run_id) == (DAY_1, DAY_2, "abc")
    assert before - dt.timedelta(seconds=1) <= loaded_at <= dt.datetime.now(dt.UTC)


def test_new_column_is_added_to_the_table(warehouse_connection, schema_name, tmp_path):
    old = write_parquet(tmp_path / "old.parquet", {"order_id": [1], "amount": [1.0]})
    new = write_parquet(tmp_path / "new.parquet", {"order_id": [2], "amount": [2.0], "coupon": ["SPRING"]})
    load_window(warehouse_connection, request_for(old, schema_name, "merge", ["order_id"]))
    load_window(warehouse_connection, request_for(new, schema_name, "merge", ["order_id"], start=DAY_2, end=DAY_3))

    assert table_rows(warehouse_connection, schema_name, '"order_id", "coupon"') == [(1, None), (2, "SPRING")]


def test_incompatible_type_change_is_refused_and_rows_are_kept(warehouse_connection, schema_name, tmp_path):
    numbers = write_parquet(tmp_path / "numbers.parquet", {"order_id": [1], "amount": [1.0]})
    text = write_parquet(tmp_path / "text.parquet", {"order_id": [2], "amount": ["lots"]})
    load_window(warehouse_connection, request_for(numbers, schema_name, "append"))

    expected = r"Column 'amount' of LOADS\.S_\w+\.ORDERS is FLOAT .* new data is VARCHAR"
    with pytest.raises(WarehouseError, match=expected):
        load_window(warehouse_connection, request_for(text, schema_name, "append"))
    assert table_rows(warehouse_connection, schema_name) == [(1, 1.0)]


def test_wider_numbers_and_texts_widen_the_table_and_load(warehouse_connection, schema_name, tmp_path):
    cursor = warehouse_connection.cursor()
    cursor.execute('CREATE DATABASE IF NOT EXISTS "LOADS"')
    cursor.execute(f'CREATE SCHEMA "LOADS"."{schema_name}"')
    cursor.execute(f'CREATE TABLE "LOADS"."{schema_name}"."ORDERS" ("order_id" NUMBER(6,0), "code" VARCHAR(3))')
    path = write_parquet(tmp_path / "orders.parquet", {"order_id": [12_345_678_901], "code": ["LONGER"]})

    result = load_window(warehouse_connection, request_for(path, schema_name, "append"))

    assert result.schema_changes.widened == {
        "order_id": ("NUMBER(6,0)", "NUMBER(38,0)"),
        "code": ("VARCHAR(3)", "VARCHAR"),
    }
    assert "_run_id" in result.schema_changes.added
    assert table_rows(warehouse_connection, schema_name, '"order_id", "code"') == [(12_345_678_901, "LONGER")]


def test_hostile_and_quoted_column_names_are_stored_verbatim(warehouse_connection, schema_name, tmp_path):
    hostile = '"; drop table x; --'
    quoted = 'say "hi"'
    warehouse_connection.cursor().execute('CREATE DATABASE IF NOT EXISTS "LOADS"')
    warehouse_connection.cursor().execute(f'CREATE SCHEMA "LOADS"."{schema_name}"')
    warehouse_connection.cursor().execute(f'CREATE TABLE "LOADS"."{schema_name}"."X" ("a" NUMBER)')
    path = write_parquet(tmp_path / "odd.parquet", {"order_id": [1, 1], hostile: ["a", "b"], quoted: ["c", "d"]})

    load_window(warehouse_connection, request_for(path, schema_name, "merge", ["order_id"]))

    cursor = warehouse_connection.cursor().execute(
        f'SELECT "order_id", """; drop table x; --", "say ""hi""" FROM "LOADS"."{schema_name}"."ORDERS"'
    )
    assert cursor.fetchall() == [(1, "b", "d")]
    assert [column.name for column in cursor.description] == ["order_id", hostile, quoted]
    assert warehouse_connection.cursor().execute(f'SELECT COUNT(*) FROM "LOADS"."{schema_name}"."X"').fetchone() == (0,)


def test_unknown_merge_key_is_refused(warehouse_connection, schema_name, tmp_path):
    path = write_parquet(tmp_path / "orders.parquet", {"order_id": [1]})
    with pytest.raises(WarehouseError, match=r"Load keys \['id'\] of ORDERS are not columns"):
        load_window(warehouse_connection, request_for(path, schema_name, "merge", ["id"]))


def test_failed_strategy_rolls_back_and_cleans_up(warehouse_connection, schema_name, tmp_path):
    cursor = warehouse_connection.cursor()
    cursor.execute('CREATE DATABASE IF NOT EXISTS "LOADS"')
    cursor.execute(f'CREATE SCHEMA "LOADS"."{schema_name}"')
    # a NOT NULL column the file lacks: inside the transaction the DELETE succeeds, then the INSERT fails
    cursor.execute(
        f'CREATE TABLE "LOADS"."{schema_name}"."ORDERS" ("order_id" NUMBER(38,0), "amount" FLOAT, '
        '"time_window_start" TIMESTAMP_TZ, "time_window_end" TIMESTAMP_TZ, "_run_id" VARCHAR, '
        '"_loaded_at" TIMESTAMP_TZ, "required" VARCHAR NOT NULL)'
    )
    cursor.execute(
        f"""INSERT INTO "LOADS"."{schema_name}"."ORDERS" ("order_id", "amount", "required") VALUES (1, 1.0, 'x')"""
    )
    path = write_parquet(tmp_path / "orders.parquet", {"order_id": [2], "amount": [2.0]})

    expected = r"failed while applying the truncate_insert strategy .* rows are unchanged"
    with pytest.raises(WarehouseError, match=expected):
        load_window(warehouse_connection, request_for(path, schema_name, "truncate_insert"))
    assert table_rows(warehouse_connection, schema_name) == [(1, 1.0)]
    assert stray_tables(warehouse_connection, schema_name) == []


def test_null_merge_keys_are_refused(warehouse_connection, schema_name, tmp_path):
    path = write_parquet(tmp_path / "orders.parquet", {"order_id": [1, None], "amount": [1.0, 2.0]})
    with pytest.raises(WarehouseError, match=r"1 rows of ORDERS have no value in merge keys \['order_id'\]"):
        load_window(warehouse_connection, request_for(path, schema_name, "merge", ["order_id"]))
    assert stray_tables(warehouse_connection, schema_name) == []


@pytest.mark.parametrize("strategy", ["merge", "replace_window"])
def test_json_columns_load_as_variant_that_queries_as_json(warehouse_connection, schema_name, tmp_path, strategy):
    documents = ['{"a": [1, 2], "b": "x"}', '[1, {"b": null}]', None]
    payload = pa.ExtensionArray.from_storage(pa.json_(), pa.array(documents, pa.string()))
    path = tmp_path / "json.parquet"
    pq.write_table(pa.table({"order_id": [1, 2, 3], "payload": payload}), path)
    keys = ["order_id"] if strategy == "merge" else []
    for run_id in ("run-1", "run-2"):
        load_window(warehouse_connection, request_for(path, schema_name, strategy, keys, run_id=run_id))

    cursor = warehouse_connection.cursor()
    column_type = cursor.execute(
        "SELECT data_type FROM \"LOADS\".information_schema.columns WHERE table_schema = %s AND column_name = 'payload'",
        (schema_name,),
    ).fetchone()[0]
    rows = cursor.execute(f'SELECT "order_id", "payload", "payload":a[1]::NUMBER FROM "LOADS"."{schema_name}"."ORDERS" ORDER BY 1').fetchall()
    assert column_type == "VARIANT"
    assert [(row[0], None if row[1] is None else json.loads(row[1]), row[2]) for row in rows] == [
        (1, {"a": [1, 2], "b": "x"}, 2),
        (2, [1, {"b": None}], None),
        (3, None, None),
    ]
