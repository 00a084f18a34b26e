"""Excel workbooks: each sheet a file of the upload, its values as the user sees them."""

import datetime as dt
import gzip
from functools import partial

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from etl_assets.config.models import PartitionsConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.members import file_members
from etl_assets.ingest.model import ReadOptions
from etl_assets.ingest.readers import detect_format
from etl_assets.ingest.upload import ingest_window
from etl_assets.ingest.windows import window_from_key
from etl_assets.paths import ProjectPaths

from .helpers import dataset, land

DAY = window_from_key("2026-11-20", PartitionsConfig())
MORNING = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def _workbook(path):
    """Two sheets: `Orders` with every kind of value, `Second` with its header in row 3 and a column mixing kinds."""
    book = xlsxwriter.Workbook(path)
    date, stamp, time = (book.add_format({"num_format": pattern}) for pattern in ("yyyy-mm-dd", "yyyy-mm-dd hh:mm", "hh:mm:ss"))
    orders = book.add_worksheet("Orders")
    orders.write_row(0, 0, ["Customer ID", "Quantity", "Price", "Ordered", "Shipped", "City", "Paid", "At", "Note"])
    orders.write_string(1, 0, "000123")
    orders.write_number(1, 1, 12345)
    orders.write_number(1, 2, 12.5)
    orders.write_datetime(1, 3, dt.date(2026, 11, 20), date)
    orders.write_datetime(1, 4, dt.datetime(2026, 11, 21, 9, 30), stamp)
    orders.write_string(1, 5, "Zürich ✓ 東京")
    orders.write_boolean(1, 6, True)
    orders.write_datetime(1, 7, dt.time(14, 5, 9), time)
    orders.write_string(1, 8, "first")
    orders.write_string(2, 0, "007")
    orders.write_number(2, 1, -2)
    orders.write_number(2, 2, 3)
    orders.write_datetime(2, 3, dt.date(2024, 2, 29), date)
    orders.write_boolean(2, 6, False)  # Shipped, City, At and Note left empty
    orders.write_blank(6, 0, None, date)  # formatted but empty rows below the data
    second = book.add_worksheet("Second")
    second.write_row(2, 0, ["Code", "Mixed"])
    second.write_row(3, 0, ["A1", 5])
    second.write_row(5, 0, ["B2", True])
    book.close()
    return path


def _sheets(path, name, **options):
    read = []
    for member, streamed in file_members(path, name, options=ReadOptions(**options), scratch=path.parent):
        [table] = list(streamed.batches)
        read.append((member, table, streamed.summary()))
    return read


def test_every_sheet_is_a_file_whose_values_stay_as_the_user_sees_them(tmp_path):
    [(orders_name, orders, summary), (second_name, second, _)] = _sheets(_workbook(tmp_path / "book.xlsx"), "book.xlsx")

    assert (orders_name, second_name) == ("book.xlsx/Orders", "book.xlsx/Second")
    assert orders.schema == pa.schema([
        ("customer_id", pa.string()), ("quantity", pa.int64()), ("price", pa.float64()), ("ordered", pa.date32()),
        ("shipped", pa.timestamp("ms")), ("city", pa.string()), ("paid", pa.bool_()), ("at", pa.time64("us")),
        ("note", pa.string()), ("_source_row", pa.int64()),
    ])  # fmt: skip
    assert orders.to_pylist() == [
        {"customer_id": "000123", "quantity": 12345, "price": 12.5, "ordered": dt.date(2026, 11, 20),
         "shipped": dt.datetime(2026, 11, 21, 9, 30), "city": "Zürich ✓ 東京", "paid": True, "at": dt.time(14, 5, 9),
         "note": "first", "_source_row": 2},
        {"customer_id": "007", "quantity": -2, "price": 3.0, "ordered": dt.date(2024, 2, 29), "shipped": None,
         "city": None, "paid": False, "at": None, "note": None, "_source_row": 3},
    ]  # fmt: skip
    assert summary.columns["customer_id"] == "Customer ID"
    # A TRUE among numbers would be typed 1.0: the column keeps the cells' text. The header is in row 3, row 5 is empty.
    assert second.to_pylist() == [{"code": "A1", "mixed": "5", "_source_row": 4}, {"code": "B2", "mixed": "true", "_source_row": 6}]


def test_sheets_reads_only_the_sheets_named(tmp_path):
    read = _sheets(_workbook(tmp_path / "book.xlsx"), "book.xlsx", sheets=("Second",))

    assert [name for name, _, _ in read] == ["book.xlsx/Second"]


def test_a_missing_sheet_is_named_with_the_sheets_the_workbook_has(tmp_path):
    path = _workbook(tmp_path / "book.xlsx")

    with pytest.raises(IngestError, match=r"^'book\.xlsx' has no sheet 'Totals' \(source\.sheets\); its sheets are 'Orders', 'Second': "):
        _sheets(path, "book.xlsx", sheets=("Second", "Totals"))


def test_a_workbook_is_known_by_its_content_and_read_when_compressed(tmp_path):
    path = _workbook(tmp_path / "export")
    packed = tmp_path / "book.xlsx.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))

    assert detect_format(partial(path.open, "rb"), "export") == "xlsx"
    assert [name for name, _, _ in _sheets(path, "export", sheets=("Second",))] == ["export/Second"]
    [(name, table, _)] = _sheets(packed, "book.xlsx.gz", sheets=("Second",))
    assert name == "book.xlsx.gz/Second" and table.num_rows == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["book.xlsx.gz", "export"]  # the unpacked copy is gone


def test_a_file_that_is_not_a_workbook_is_named(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"id,name\n1,a\n")

    with pytest.raises(IngestError, match=r"^Cannot read 'book\.xlsx' as an Excel workbook \(.*\); save it again from Excel"):
        _sheets(path, "book.xlsx")


def test_a_workbooks_sheets_land_in_the_windows_upload_with_their_lineage(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "book.xlsx", _workbook(tmp_path / "book.xlsx").read_bytes(), MORNING)

    result = ingest_window(dataset(landing), paths, DAY)

    table = pq.read_table(result.output_path, columns=["customer_id", "code", "_source_file", "_source_row"])
    assert table.to_pylist() == [
        {"customer_id": "000123", "code": None, "_source_file": "book.xlsx/Orders", "_source_row": 2},
        {"customer_id": "007", "code": None, "_source_file": "book.xlsx/Orders", "_source_row": 3},
        {"customer_id": None, "code": "A1", "_source_file": "book.xlsx/Second", "_source_row": 4},
        {"customer_id": None, "code": "B2", "_source_file": "book.xlsx/Second", "_source_row": 6},
    ]
    assert [(read.name, read.rows) for read in result.file_reads] == [("book.xlsx/Orders", 2), ("book.xlsx/Second", 2)]
