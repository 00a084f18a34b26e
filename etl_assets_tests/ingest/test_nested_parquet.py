"""Nested Parquet columns are read as flat columns and JSON text, never as Python reprs."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.errors import IngestError
from etl_assets.ingest.readers import read_file

POINT = pa.struct([("x", pa.int64()), ("y", pa.string())])
ADDRESS = pa.struct([("City Name", pa.string()), ("geo", pa.struct([("lat", pa.float64()), ("lon", pa.float64())])), ("tags", pa.list_(pa.string()))])
NESTED = pa.table({
    "id": pa.array([1, 2, 3], pa.int64()),
    "point": pa.array([{"x": 1, "y": "a"}, None, {"x": None, "y": "b"}], POINT),
    "Address": pa.array([
        {"City Name": "Paris", "geo": {"lat": 48.85, "lon": 2.35}, "tags": ["home", "work"]},
        {"City Name": "Oslo", "geo": None, "tags": []},
        None,
    ], ADDRESS),
    "scores": pa.array([[1, None, 3], [], None], pa.list_(pa.int64())),
    "attributes": pa.array([[("k", 1), ("j", None)], [], None], pa.map_(pa.string(), pa.int64())),
    "shapes": pa.array([[{"x": 1, "y": "a"}, None], None, []], pa.list_(POINT)),
    "days": pa.array([[dt.date(2026, 1, 2)], [], None], pa.list_(pa.date32())),
    "moments": pa.array([[dt.datetime(2026, 1, 2, 3, 4, 5, 120000)], None, []], pa.list_(pa.timestamp("us"))),
    "instants": pa.array([[dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)], None, []], pa.list_(pa.timestamp("us", tz="UTC"))),
    "amounts": pa.array([[Decimal("1.50"), Decimal("12345678901234567890.123456789012345678")], None, []], pa.list_(pa.decimal128(38, 18))),
    "blobs": pa.array([[b"\x00\xff"], None, []], pa.list_(pa.binary())),
    "ratios": pa.array([[0.1, float("nan"), float("inf")], None, []], pa.list_(pa.float64())),
    "prices": pa.array([[Decimal("12.50"), Decimal("-0.10")], None, []], pa.list_(pa.decimal128(10, 2))),
    "people": pa.array([[{"Full Name": "Ann", "it's": 1}], None, []], pa.list_(pa.struct([("Full Name", pa.string()), ("it's", pa.int8())]))),
})


@pytest.fixture(scope="module")
def read(tmp_path_factory):
    path = tmp_path_factory.mktemp("nested") / "events.parquet"
    pq.write_table(NESTED, path)
    return read_file(path, "parquet", "events.parquet")


def _json(read, name):
    return [None if value is None else json.loads(value) for value in read.table.column(name).to_pylist()]


def test_structs_become_one_column_per_leaf_named_like_dlt(read):
    assert read.table.column_names == [
        "id", "point__x", "point__y", "address__city_name", "address__geo__lat", "address__geo__lon", "address__tags",
        "scores", "attributes", "shapes", "days", "moments", "instants", "amounts", "blobs", "ratios", "prices", "people", "_source_row",
    ]
    assert read.columns["address__geo__lat"] == "Address.geo.lat"
    assert read.table.column("point__x").to_pylist() == [1, None, None], "a null struct leaves its leaves null"
    assert read.table.column("point__y").to_pylist() == ["a", None, "b"]
    assert read.table.column("address__geo__lon").to_pylist() == [2.35, None, None]
    assert read.table.schema.field("address__geo__lat").type == pa.float64()
    assert read.table.column("_source_row").to_pylist() == [1, 2, 3]


def test_lists_and_maps_become_json_text_of_the_json_type(read):
    json_columns = ["address__tags", "scores", "attributes", "shapes", "days", "moments", "instants", "amounts", "blobs", "ratios", "prices", "people"]
    assert {name: read.table.schema.field(name).type for name in json_columns} == dict.fromkeys(json_columns, pa.json_())
    assert _json(read, "address__tags") == [["home", "work"], [], None]
    assert _json(read, "scores") == [[1, None, 3], [], None]
    assert _json(read, "attributes") == [{"k": 1, "j": None}, {}, None]
    assert _json(read, "shapes") == [[{"x": 1, "y": "a"}, None], None, []]
    assert _json(read, "days") == [["2026-01-02"], [], None]
    assert _json(read, "moments") == [["2026-01-02T03:04:05.12"], None, []]
    assert _json(read, "instants") == [["2026-01-02T03:04:05+00"], None, []]
    assert _json(read, "blobs") == [["AP8="], None, []]
    assert _json(read, "ratios") == [[0.1, "nan", "inf"], None, []]
    assert _json(read, "people") == [[{"Full Name": "Ann", "it's": 1}], None, []]


def test_decimals_in_json_keep_every_digit(read):
    assert read.table.column("prices")[0].as_py() == "[12.50,-0.10]"
    assert read.table.column("amounts")[0].as_py() == "[1.500000000000000000,12345678901234567890.123456789012345678]"


def test_every_json_value_parses_as_json_and_no_nested_column_is_left(read):
    for field in read.table.schema:
        assert not pa.types.is_nested(field.type), field
        if field.type == pa.json_():
            assert all(value is None or json.loads(value) is not None or value == "null" for value in read.table.column(field.name).to_pylist())


def test_a_flat_parquet_file_is_read_as_it_is(tmp_path):
    path = tmp_path / "flat.parquet"
    table = pa.table({"Order ID": pa.array([7], pa.int32()), "note": ["x"]})
    pq.write_table(table, path)

    result = read_file(path, "parquet", "flat.parquet")

    assert result.table.schema == pa.schema([("order_id", pa.int32()), ("note", pa.string()), ("_source_row", pa.int64())])
    assert result.columns == {"order_id": "Order ID", "note": "note"}


def test_a_nested_type_the_conversion_does_not_know_is_a_clear_error(tmp_path):
    path = tmp_path / "halves.parquet"
    pq.write_table(pa.table({"halves": pa.array([[1.5]], pa.list_(pa.float16()))}), path)

    with pytest.raises(IngestError, match=r"^Cannot read 'halves.parquet' as parquet \(.*\); fix or re-export the file"):
        read_file(path, "parquet", "halves.parquet")
