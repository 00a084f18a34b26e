import json
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.config.columns import SOURCE_ROW
from etl_assets.config.models import PartitionsConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.model import Lineage
from etl_assets.ingest.readers import stream_file
from etl_assets.ingest.row_windows import WindowRange, partition_column, row_windows
from etl_assets.ingest.window_split import home_summary, load_split, no_window, split_file, write_index

PARIS = PartitionsConfig(start="2026-01-01", timezone="Europe/Paris")
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ALLOWED = WindowRange.of(PARIS, NOW)
LINEAGE = Lineage("orders.csv", datetime(2026, 12, 1, tzinfo=UTC))


def _windows(values, partitions=PARIS):
    found = row_windows(pa.array(values), partitions, WindowRange.of(partitions, NOW))
    return found.keys.to_pylist(), found.problems.to_pylist()


def test_iso_text_dates_and_times_go_to_the_window_of_their_local_date():
    keys, problems = _windows(["2026-11-20", "2026-11-20 23:30:00", "2026-11-20T23:30:00Z", "20261120", " 2026-03-29T02:30 "])
    # 23:30 UTC is 00:30 the next day in Paris; 02:30 on 29 March does not exist there and is read as its earlier instant
    assert keys == ["2026-11-20", "2026-11-20", "2026-11-21", "2026-11-20", "2026-03-29"]
    assert problems == [None] * 5


def test_rows_without_a_date_or_outside_the_partitions_get_a_reason_and_no_window():
    keys, problems = _windows(["junk", None, "2025-12-31", "2027-01-01", "2026-12-04"])
    assert keys == [None, None, None, None, "2026-12-04"]
    assert problems == [
        "is not a date: junk",
        "has no date",
        "is in window 2025-12-31, before the dataset's first window 2026-01-01 (partitions.start)",
        "is in window 2027-01-01, after the current window 2026-12-04",
        None,
    ]


def test_typed_dates_and_times_and_other_cadences():
    monthly = PartitionsConfig(cadence="monthly", start="2026-01-01", timezone="UTC")
    assert _windows([date(2026, 5, 17), date(2026, 6, 1)], monthly)[0] == ["2026-05-01", "2026-06-01"]
    hourly = PartitionsConfig(cadence="hourly", start="2026-01-01", timezone="UTC")
    stamps = pa.array([datetime(2026, 5, 1, 22, 59), datetime(2026, 5, 1, 23, 0)], pa.timestamp("ms"))
    assert row_windows(stamps, hourly, WindowRange.of(hourly, NOW)).keys.to_pylist() == ["2026-05-01-22:00", "2026-05-01-23:00"]
    assert _windows([17, 18])[1] == ["is not a date: 17", "is not a date: 18"]


def test_the_column_is_found_by_its_header_or_its_normalised_name():
    assert partition_column("Order Date", {"order_date": "Order Date"}, "f.csv") == "order_date"
    assert partition_column("order_date", {"order_date": "Order Date"}, "f.csv") == "order_date"
    with pytest.raises(IngestError, match=r"'f.csv' has no column 'Shipped' .*'Order Date'"):
        partition_column("Shipped", {"order_date": "Order Date"}, "f.csv")


def _split(tmp_path, text, column="Order Date"):
    source = tmp_path / "orders.csv"
    source.write_text(text, encoding="utf-8")
    split = split_file(stream_file(source, "csv", "orders.csv"), LINEAGE, column, PARIS, ALLOWED, tmp_path / "split")
    write_index(split)
    return split


def test_one_file_is_split_into_a_part_per_window_with_lineage_and_its_bad_dates_are_rejects_of_its_first_window(tmp_path):
    split = _split(tmp_path, "id,Order Date\n001,2026-11-21\n002,2026-11-20\n003,someday\n004,2026-11-21\n")

    assert split.rows == {"2026-11-20": 1, "2026-11-21": 2}
    assert split.home == "2026-11-20"
    late = pq.read_table(split.part_paths("2026-11-21")[0])
    assert late["id"].to_pylist() == ["001", "004"]
    assert late[SOURCE_ROW].to_pylist() == [2, 5]
    assert set(late["_source_file"].to_pylist()) == {"orders.csv"}
    [reject] = split.summary.rejects
    assert (reject.line, reject.reason) == (4, "Order Date is not a date: someday (partition_by: column)")
    assert json.loads(reject.raw) == {"id": "003", "order_date": "someday"}

    again = load_split(tmp_path / "split")
    assert (again.rows, again.home, again.lineage) == (split.rows, split.home, LINEAGE)
    # the rejects are read back only for the window they count in
    assert (again.summary.rejects, home_summary(again).rejects) == ([], split.summary.rejects)


def test_a_split_without_its_index_is_not_loaded(tmp_path):
    source = tmp_path / "orders.csv"
    source.write_text("id,Order Date\n1,2026-11-20\n", encoding="utf-8")
    split = split_file(stream_file(source, "csv", "orders.csv"), LINEAGE, "Order Date", PARIS, ALLOWED, tmp_path / "split")

    assert split.rows == {"2026-11-20": 1}
    assert load_split(tmp_path / "split") is None


def test_a_file_with_no_row_in_any_window_has_no_home_and_is_refused_by_name(tmp_path):
    split = _split(tmp_path, "id,Order Date\n1,2025-01-01\n")

    assert (split.rows, split.home) == ({}, "")
    with pytest.raises(IngestError, match=r"No row of 'orders.csv' belongs to a window .*line 2: Order Date is in window 2025-01-01, before"):
        raise no_window("orders.csv", "Order Date", [split])
