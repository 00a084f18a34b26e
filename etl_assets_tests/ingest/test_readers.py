import json
from functools import partial

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.errors import IngestError
from etl_assets.ingest.readers import Reject, detect_format, read_file


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _detected(path, name):
    return detect_format(partial(path.open, "rb"), name)


def test_csv_values_stay_text_and_empty_values_are_null(tmp_path):
    path = _write(tmp_path, "orders.csv", 'Order ID,GrossAmount,Note\n007,12.50,""\n8,n/a,\n')
    result = read_file(path, "csv", "orders.csv")
    assert result.table.schema.types == [pa.string(), pa.string(), pa.string(), pa.int64()]
    assert result.table.to_pylist() == [
        {"order_id": "007", "gross_amount": "12.50", "note": None, "_source_row": 2},
        {"order_id": "8", "gross_amount": "n/a", "note": None, "_source_row": 3},
    ]
    assert result.columns == {"order_id": "Order ID", "gross_amount": "GrossAmount", "note": "Note"}
    assert result.rejects == []


def test_long_rows_are_rejects_with_their_file_line_and_the_rest_loads(tmp_path):
    content = '\nid,text\n1,"two\nlines"\n\n2\n3,ok\n4,too,many\r\n5,last\n'
    result = read_file(_write(tmp_path, "x.csv", content), "csv", "x.csv")
    assert [(row["id"], row["text"], row["_source_row"]) for row in result.table.to_pylist()] == [
        ("1", "two\nlines", 3),
        ("2", None, 6),
        ("3", "ok", 7),
        ("5", "last", 9),
    ]
    assert result.rejects == [Reject(8, "expected 2 fields, found 3", "4,too,many")]
    assert result.short_rows == 1


def test_tsv_and_semicolon_csv(tmp_path):
    tsv = read_file(_write(tmp_path, "a.tsv", "a\tb\n1,5\t2\n"), "tsv", "a.tsv")
    semicolons = read_file(_write(tmp_path, "b.csv", "a;b\n1,5;2\n"), "csv", "b.csv")
    assert tsv.table.drop_columns(["_source_row"]).to_pylist() == [{"a": "1,5", "b": "2"}]
    assert semicolons.table.drop_columns(["_source_row"]).to_pylist() == [{"a": "1,5", "b": "2"}]


def test_latin1_file_is_transcoded(tmp_path):
    content = "name,city\nnaïve,Zürich\nCafé,Besançon\n".encode("latin-1")
    result = read_file(_write(tmp_path, "legacy.csv", content), "csv", "legacy.csv")
    assert result.table.column("name").to_pylist() == ["naïve", "Café"]
    assert result.table.column("city").to_pylist() == ["Zürich", "Besançon"]


def test_utf8_bom_does_not_leak_into_the_first_header(tmp_path):
    result = read_file(_write(tmp_path, "bom.csv", "\ufeffOrder ID\n1\n"), "csv", "bom.csv")
    assert result.columns == {"order_id": "Order ID"}


def test_headers_are_normalised_and_made_unique(tmp_path):
    path = _write(tmp_path, "h.csv", 'naïve,"; drop table x; --",,Email,email,1st\na,b,c,d,e,f\n')
    result = read_file(path, "csv", "h.csv")
    assert result.table.column_names == ["naive", "drop_table_x", "column_3", "email", "email_2", "c_1st", "_source_row"]
    assert result.columns["drop_table_x"] == "; drop table x; --"


def test_json_lines_keep_native_types_flatten_objects_and_reject_bad_lines(tmp_path):
    content = '{"id": 1, "tags": ["a"], "ok": true}\n\nnot json\n[1, 2]\n{"id": 2, "meta": {"k": "v"}, "ok": false}\n'
    result = read_file(_write(tmp_path, "e.jsonl", content), "jsonl", "e.jsonl")
    assert result.table.schema.field("id").type == pa.int64()
    assert result.table.schema.field("ok").type == pa.bool_()
    assert result.table.schema.field("tags").type == pa.json_()
    assert result.table.to_pylist() == [
        {"id": 1, "tags": '["a"]', "ok": True, "meta__k": None, "_source_row": 1},
        {"id": 2, "tags": None, "ok": False, "meta__k": "v", "_source_row": 5},
    ]
    assert [(reject.line, reject.raw) for reject in result.rejects] == [(3, "not json"), (4, "[1, 2]")]


def test_json_column_with_mixed_types_becomes_text_instead_of_failing(tmp_path):
    content = '{"amount": 12}\n{"amount": "n/a"}\n{"amount": 1.5}\n'
    result = read_file(_write(tmp_path, "m.jsonl", content), "jsonl", "m.jsonl")
    assert result.table.column("amount").to_pylist() == ["12", "n/a", "1.5"]


def test_json_array_rows_are_numbered_by_position(tmp_path):
    content = json.dumps([{"Order ID": 1, "Amount": 2.5}, "stray", {"Order ID": 3}])
    result = read_file(_write(tmp_path, "a.json", content), "json", "a.json")
    assert result.table.to_pylist() == [
        {"order_id": 1, "amount": 2.5, "_source_row": 1},
        {"order_id": 3, "amount": None, "_source_row": 3},
    ]
    assert result.rejects == [Reject(2, "expected a JSON object", '"stray"')]


def test_parquet_keeps_its_types(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"Order ID": pa.array([1, 2], pa.int32()), "Paid": [True, False]}), path)
    result = read_file(path, "parquet", "p.parquet")
    assert result.table.schema == pa.schema([("order_id", pa.int32()), ("paid", pa.bool_()), ("_source_row", pa.int64())])
    assert result.table.column("_source_row").to_pylist() == [1, 2]


def test_auto_detects_by_extension_then_by_content(tmp_path):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "blob")
    assert _detected(tmp_path / "blob", "blob") == "parquet"
    assert _detected(_write(tmp_path, "x", '[{"a": 1}]'), "x") == "json"
    assert _detected(_write(tmp_path, "y", '{"a": 1}\n{"a": 2}\n'), "y") == "jsonl"
    assert _detected(_write(tmp_path, "z", '{\n  "a": 1\n}\n'), "z") == "json"
    assert _detected(_write(tmp_path, "t", "a\tb\n1\t2\n"), "t") == "tsv"
    assert _detected(_write(tmp_path, "c", "a,b\n1,2\n"), "c") == "csv"
    assert _detected(_write(tmp_path, "data.NDJSON", "a,b\n"), "data.NDJSON") == "jsonl"
    result = read_file(tmp_path / "y", "auto", "y")
    assert result.table.column("a").to_pylist() == [1, 2]


def test_empty_csv_gives_an_empty_table(tmp_path):
    result = read_file(_write(tmp_path, "empty.csv", ""), "csv", "empty.csv")
    assert result.table.num_rows == 0
    assert result.table.column_names == ["_source_row"]


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [("broken.parquet", b"PAR1 not really", "parquet"), ("broken.json", b'[{"a": 1', "json"), ("image.csv", bytes(range(256)) * 8, "csv")],
)
def test_unreadable_files_name_the_file_format_and_what_to_do(tmp_path, name, content, fmt):
    with pytest.raises(IngestError, match=rf"'{name}'.*{fmt}.*(re-export|set source.format)"):
        read_file(_write(tmp_path, name, content), "auto", name)


def test_a_very_long_field_is_read_whole(tmp_path):
    long_text = "x" * 300_000
    result = read_file(_write(tmp_path, "long.csv", f"id,text\n1,{long_text}\n"), "csv", "long.csv")
    assert result.table.column("text").to_pylist() == [long_text]
    assert result.table.column("_source_row").to_pylist() == [2]


def test_reserved_names_are_renamed_in_json_lines_and_parquet_too(tmp_path):
    lines = read_file(_write(tmp_path, "a.jsonl", '{"time_window_end": 1}\nbad\n'), "jsonl", "a.jsonl")
    assert lines.table.column_names == ["source_time_window_end", "_source_row"]
    assert lines.renamed == {"source_time_window_end": "time_window_end"}
    pq.write_table(pa.table({"Time Window Start": [1]}), tmp_path / "p.parquet")
    parquet = read_file(tmp_path / "p.parquet", "parquet", "p.parquet")
    assert parquet.renamed == {"source_time_window_start": "Time Window Start"}
    assert parquet.encoding is None


def test_json_integers_too_big_for_their_column_type_keep_every_digit(tmp_path):
    content = '{"id": 123456789012345678901234, "v": 9007199254740993}\n{"id": 1, "v": 1.5}\n'
    result = read_file(_write(tmp_path, "big.jsonl", content), "jsonl", "big.jsonl")
    assert result.table.column("id").to_pylist() == ["123456789012345678901234", "1"]
    assert result.table.column("v").to_pylist() == ["9007199254740993", "1.5"]
