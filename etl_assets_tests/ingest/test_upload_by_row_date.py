"""partition_by: {column: NAME}: rows go to the windows of their own dates, and one file can feed several."""

import gzip
import io
import json
import zipfile
from datetime import UTC, datetime

import pyarrow.parquet as pq

from etl_assets.config.models import PartitionsConfig
from etl_assets.ingest.upload import ingest_window
from etl_assets.ingest.windows import window_from_key
from etl_assets.paths import ProjectPaths

from .helpers import dataset, land

ARRIVED = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HISTORY = "id,Order Date,Amount\n001,2026-11-20,5\n002,2026-11-21T10:00:00,6\n003,not yet,7\n004,2026-11-20,8\n005,2019-01-01,9\n"


def _window(key):
    return window_from_key(key, PartitionsConfig())


def _rows(result):
    return pq.read_table(result.output_path).select(["id", "_source_file", "_source_row"]).to_pylist()


def _zipped(members: dict[str, str]) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return packed.getvalue()


def _by_date(landing):
    return dataset(landing, partition_by={"column": "Order Date"}, max_reject_percent=50)


def test_each_window_holds_only_its_rows_of_a_file_that_feeds_several(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "history.csv", HISTORY, ARRIVED)

    first = ingest_window(_by_date(landing), paths, _window("2026-11-20"))
    second = ingest_window(_by_date(landing), paths, _window("2026-11-21"))
    elsewhere = ingest_window(_by_date(landing), paths, _window("2026-11-22"))

    assert _rows(first) == [
        {"id": "001", "_source_file": "history.csv", "_source_row": 2},
        {"id": "004", "_source_file": "history.csv", "_source_row": 5},
    ]
    assert _rows(second) == [{"id": "002", "_source_file": "history.csv", "_source_row": 3}]
    assert (elsewhere.row_count, elsewhere.files) == (0, [])
    assert not (landing / "history.csv").exists()
    # The rows without a window are rejects once, in the file's first window, each whole and with its line.
    rejects = [json.loads(line) for line in first.rejects_path.read_text().splitlines()]
    assert [(reject["line"], reject["reason"]) for reject in rejects] == [
        (4, "Order Date is not a date: not yet (partition_by: column)"),
        (6, "Order Date is in window 2019-01-01, before the dataset's first window 2026-01-01 (partitions.start) (partition_by: column)"),
    ]
    assert json.loads(rejects[0]["raw"]) == {"id": "003", "order_date": "not yet", "amount": "7"}
    assert (second.reject_count, second.rejects_path) == (0, None)


def test_a_later_file_adds_its_rows_to_the_windows_it_feeds_and_a_rerun_reads_the_kept_split(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "history.csv", HISTORY, ARRIVED)
    ingest_window(_by_date(landing), paths, _window("2026-11-20"))
    land(landing, "late.csv", "id,Order Date,Amount\n006,2026-11-21,1\n", LATER)

    second = ingest_window(_by_date(landing), paths, _window("2026-11-21"))
    (paths.archive / "orders" / "by-row-date").joinpath("unused").mkdir()  # the archive may hold other folders
    again = ingest_window(_by_date(landing), paths, _window("2026-11-21"))

    assert [row["id"] for row in _rows(second)] == ["002", "006"]
    assert _rows(again) == _rows(second)
    assert (again.new_files, [file.original_name for file in again.files]) == (0, ["history.csv", "late.csv"])


def test_a_file_with_no_row_in_any_window_is_set_aside_and_the_others_load(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "old.csv", "id,Order Date\n1,2019-05-01\n", ARRIVED)
    land(landing, "good.csv", "id,Order Date\n2,2026-11-21\n", ARRIVED)

    result = ingest_window(_by_date(landing), paths, _window("2026-11-21"))

    assert [row["id"] for row in _rows(result)] == ["2"]
    [failed] = result.failed_files
    assert failed.name == "old.csv"
    assert "No row of 'old.csv' belongs to a window" in (landing / "_failed" / "old.csv.reason.txt").read_text()


def test_a_split_lost_from_the_lake_is_made_again_from_the_archive(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "history.csv", HISTORY, ARRIVED)
    ingest_window(_by_date(landing), paths, _window("2026-11-20"))
    for index in (paths.lake / "orders" / "row_windows").glob("*/index.json"):
        index.unlink()

    result = ingest_window(_by_date(landing), paths, _window("2026-11-20"))

    assert [row["id"] for row in _rows(result)] == ["001", "004"]
    assert result.reject_count == 2


def test_the_members_of_a_zip_and_a_gzipped_file_each_go_to_the_windows_of_their_rows(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    north, south = "id,Order Date\n1,2026-11-20\n2,2026-11-21\n", "id,Order Date\n3,2026-11-21\n4,someday\n"
    land(landing, "regions.zip", _zipped({"north.csv": north, "south.csv": south}), ARRIVED)
    land(landing, "extra.csv.gz", gzip.compress(b"id,Order Date\n5,2026-11-21\n"), LATER)

    first = ingest_window(_by_date(landing), paths, _window("2026-11-20"))
    second = ingest_window(_by_date(landing), paths, _window("2026-11-21"))

    assert _rows(first) == [{"id": "1", "_source_file": "regions.zip/north.csv", "_source_row": 2}]
    assert _rows(second) == [
        {"id": "2", "_source_file": "regions.zip/north.csv", "_source_row": 3},
        {"id": "3", "_source_file": "regions.zip/south.csv", "_source_row": 2},
        {"id": "5", "_source_file": "extra.csv.gz", "_source_row": 2},
    ]
    # a member's rejects count in its own first window
    rejects = [json.loads(line) for line in second.rejects_path.read_text().splitlines()]
    assert [(reject["source_file"], reject["line"]) for reject in rejects] == [("regions.zip/south.csv", 3)]
    assert first.reject_count == 0


def test_a_member_with_no_row_in_any_window_has_its_rejects_in_the_files_first_window(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "regions.zip", _zipped({"good.csv": "id,Order Date\n1,2026-11-21\n", "undated.csv": "id,Order Date\n2,someday\n"}), ARRIVED)

    result = ingest_window(_by_date(landing), paths, _window("2026-11-21"))

    assert [row["id"] for row in _rows(result)] == ["1"]
    assert [read.name for read in result.file_reads] == ["regions.zip/good.csv", "regions.zip/undated.csv"]
    rejects = [json.loads(line) for line in result.rejects_path.read_text().splitlines()]
    assert [(reject["source_file"], reject["line"], reject["reason"]) for reject in rejects] == [
        ("regions.zip/undated.csv", 2, "Order Date is not a date: someday (partition_by: column)")
    ]


def test_a_new_version_replaces_the_old_ones_rows_and_its_split_is_dropped(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "history.csv", HISTORY, ARRIVED)
    ingest_window(_by_date(landing), paths, _window("2026-11-20"))
    land(landing, "history.csv", "id,Order Date,Amount\n009,2026-11-21,1\n", LATER)

    first = ingest_window(_by_date(landing), paths, _window("2026-11-20"))
    second = ingest_window(_by_date(landing), paths, _window("2026-11-21"))

    assert (first.row_count, first.reject_count) == (0, 0)
    assert [row["id"] for row in _rows(second)] == ["009"]
    assert len(list((paths.lake / "orders" / "row_windows").iterdir())) == 1
    assert len(list((paths.archive / "orders" / "by-row-date").glob("*.csv"))) == 2, "both versions stay archived"
