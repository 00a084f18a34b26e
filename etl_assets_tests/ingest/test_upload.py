import json
import os
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import PartitionsConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.upload import ingest_window, pending_windows, upload_path
from etl_assets.ingest.windows import window_from_key
from etl_assets.paths import ProjectPaths

from .helpers import dataset, land

DAY = window_from_key("2026-11-20", PartitionsConfig())
MORNING = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NEXT_DAY = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


def _setup(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "morning.csv", "Order ID,Amount\n1,10.5\n2,oops,extra\n3,7\n", MORNING)
    land(landing, "noon.jsonl", '{"Order ID": 4, "Email": "a@b.c"}\n{"Order ID": 5}\n', NOON)
    land(landing, "tomorrow.csv", "Order ID\n9\n", NEXT_DAY)
    return paths, landing


def test_ingest_window_reads_the_windows_files_with_lineage_and_rejects(tmp_path):
    paths, landing = _setup(tmp_path)

    result = ingest_window(dataset(landing), paths, DAY)

    table = pq.read_table(result.output_path)
    assert result.output_path == upload_path(paths, "orders", "2026-11-20") == paths.lake / "orders" / "uploads" / "2026-11-20.parquet"
    assert table.column_names == ["order_id", "amount", "email", "_source_file", "_source_row", "_arrived_at"]
    assert table.schema.field("_arrived_at").type == pa.timestamp("us", tz="UTC")
    # The CSV gives text, the JSON lines give integers: files that disagree meet as text.
    assert table.schema.field("order_id").type == pa.string()
    assert table.drop_columns(["_arrived_at"]).to_pylist() == [
        {"order_id": "1", "amount": "10.5", "email": None, "_source_file": "morning.csv", "_source_row": 2},
        {"order_id": "3", "amount": "7", "email": None, "_source_file": "morning.csv", "_source_row": 4},
        {"order_id": "4", "amount": None, "email": "a@b.c", "_source_file": "noon.jsonl", "_source_row": 1},
        {"order_id": "5", "amount": None, "email": None, "_source_file": "noon.jsonl", "_source_row": 2},
    ]
    assert table.column("_arrived_at").to_pylist() == [MORNING, MORNING, NOON, NOON]
    assert result.row_count == 4
    assert [file.original_name for file in result.files] == ["morning.csv", "noon.jsonl"]
    assert (result.new_files, result.duplicate_files) == (2, 0)
    assert result.columns == {"order_id": "Order ID", "amount": "Amount", "email": "Email"}
    assert result.reject_count == 1
    rejects = [json.loads(line) for line in result.rejects_path.read_text().splitlines()]
    assert rejects == [{"source_file": "morning.csv", "line": 3, "reason": "expected 2 fields, found 3", "raw": "2,oops,extra"}]
    assert [file.name for file in landing.iterdir()] == ["tomorrow.csv"]
    assert (paths.lake / "orders" / ".lock").exists()


def test_rerun_and_a_re_uploaded_copy_give_identical_rows(tmp_path):
    paths, landing = _setup(tmp_path)
    first = pq.read_table(ingest_window(dataset(landing), paths, DAY).output_path)

    rerun = ingest_window(dataset(landing), paths, DAY)
    assert pq.read_table(rerun.output_path).equals(first)
    assert (rerun.new_files, rerun.duplicate_files) == (0, 0)

    land(landing, "morning again.csv", "Order ID,Amount\n1,10.5\n2,oops,extra\n3,7\n", NOON)
    with_copy = ingest_window(dataset(landing), paths, DAY)
    assert pq.read_table(with_copy.output_path).equals(first)
    assert (with_copy.new_files, with_copy.duplicate_files) == (0, 1)
    duplicates = list((paths.archive / "orders" / "2026-11-20" / "duplicates").iterdir())
    assert [path.name for path in duplicates] == ["20261120T120000Z-morning again.csv"]


def test_a_later_file_for_the_window_is_added_to_the_earlier_ones(tmp_path):
    paths, landing = _setup(tmp_path)
    ingest_window(dataset(landing), paths, DAY)
    land(landing, "evening.csv", "Order ID\n6\n", datetime(2026, 11, 20, 20, 0, tzinfo=UTC))

    result = ingest_window(dataset(landing), paths, DAY)

    assert pq.read_table(result.output_path).column("order_id").to_pylist() == ["1", "3", "4", "5", "6"]
    assert result.new_files == 1
    assert [file.original_name for file in result.files] == ["morning.csv", "noon.jsonl", "evening.csv"]


def test_an_empty_window_writes_an_empty_upload_and_drops_stale_rejects(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    stale = paths.lake / "orders" / "rejects" / "2026-11-20.jsonl"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"line": 1}\n')

    result = ingest_window(dataset(paths.landing / "orders"), paths, DAY)

    table = pq.read_table(result.output_path)
    assert table.num_rows == 0
    assert table.column_names == ["_source_file", "_source_row", "_arrived_at"]
    assert result.rejects_path is None and not stale.exists()
    assert not (paths.landing / "orders").exists()


def test_hourly_windows_get_file_safe_names(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "a.csv", "id\n1\n", MORNING)
    hourly = dataset(landing).model_copy(update={"partitions": PartitionsConfig(cadence="hourly")})

    result = ingest_window(hourly, paths, window_from_key("2026-11-20-08:00", hourly.partitions))

    assert result.output_path.name == "2026-11-20-0800.parquet"
    assert result.row_count == 1


def test_pending_windows_groups_landed_files_by_window(tmp_path):
    paths, landing = _setup(tmp_path)
    pending = pending_windows(dataset(landing))
    assert {key: [file.name for file in files] for key, files in pending.items()} == {
        "2026-11-20": ["morning.csv", "noon.jsonl"],
        "2026-11-21": ["tomorrow.csv"],
    }


def test_an_unreadable_file_stays_in_landing_and_is_named(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "broken.json", '[{"id": 1', MORNING)

    with pytest.raises(IngestError, match="'broken.json' as json"):
        ingest_window(dataset(landing), paths, DAY)

    assert (landing / "broken.json").read_text() == '[{"id": 1'
    assert not (paths.archive / "orders").exists()


def test_nested_values_meeting_text_become_json(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "b.jsonl", '{"id": 2, "meta": "plain"}\n', NOON)
    pq.write_table(pa.table({"id": [1], "meta": [["k", "v"]]}), landing / "a.parquet")
    os.utime(landing / "a.parquet", (MORNING.timestamp(), MORNING.timestamp()))

    result = ingest_window(dataset(landing), paths, DAY)

    table = pq.read_table(result.output_path)
    assert table.column("meta").to_pylist() == ['["k","v"]', "plain"]
    assert table.column("id").type == pa.int64()
