"""JSON and JSON Lines uploads: read batch by batch, nested objects flattened, batches typed apart brought together."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.errors import IngestError
from etl_assets.ingest import json_records
from etl_assets.ingest.model import Lineage
from etl_assets.ingest.readers import Reject, read_file, stream_file
from etl_assets.ingest.spool import combine_parts, spool_file

MORNING = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _jsonl(records):
    return "".join(json.dumps(record) + "\n" for record in records)


def _uploaded(tmp_path, path):
    """The file as the upload writes it: spooled batch by batch, then its parts combined."""
    spooled = spool_file(stream_file(path, "auto", path.name), Lineage(path.name, MORNING), tmp_path / "part.parquet")
    combine_parts([spooled], tmp_path / "upload.parquet")
    return spooled, pq.read_table(tmp_path / "upload.parquet")


def test_nested_objects_become_columns_named_by_their_path(tmp_path):
    record = {"id": 1, "User": {"Full Name": "Ada", "geo": {"CC": "FR", "pos": {"lat": 48.85}}}, "after": True}
    result = read_file(_write(tmp_path, "u.jsonl", _jsonl([record, {"id": 2, "User": None}])), "jsonl", "u.jsonl")

    assert result.table.to_pylist() == [
        {"id": 1, "user__full_name": "Ada", "user__geo__cc": "FR", "user__geo__pos__lat": 48.85, "after": True, "_source_row": 1, "user": None},
        {"id": 2, "user__full_name": None, "user__geo__cc": None, "user__geo__pos__lat": None, "after": None, "_source_row": 2, "user": None},
    ]
    assert result.table.column_names[:4] == ["id", "user__full_name", "user__geo__cc", "user__geo__pos__lat"]
    assert result.columns == {
        "id": "id", "user__full_name": "User.Full Name", "user__geo__cc": "User.geo.CC",
        "user__geo__pos__lat": "User.geo.pos.lat", "after": "after", "user": "User",
    }  # fmt: skip


def test_arrays_stay_json_text_and_an_empty_object_adds_no_column(tmp_path):
    record = {"tags": ["a", "é"], "lines": [{"sku": "X", "qty": 2}], "meta": {}}
    result = read_file(_write(tmp_path, "a.json", json.dumps([record])), "json", "a.json")

    assert result.table.schema.field("tags").type == pa.json_()
    assert result.table.to_pylist() == [{"tags": '["a", "é"]', "lines": '[{"sku": "X", "qty": 2}]', "_source_row": 1}]


def test_later_batches_may_add_keys_and_turn_integers_into_floats_without_losing_a_value(tmp_path, monkeypatch):
    monkeypatch.setattr(json_records, "BATCH_RECORDS", 2)
    records = [{"id": 1, "amount": 10}, {"id": 2, "amount": 11}, {"id": 3, "amount": 2.5, "note": "late"}, {"id": 4, "amount": 12}]
    path = _write(tmp_path, "grow.jsonl", _jsonl(records))

    spooled, upload = _uploaded(tmp_path, path)

    assert len(spooled.parts) == 2, "the batch that typed amount as floats starts a part of its own"
    assert upload.schema.field("amount").type == pa.float64()
    assert upload.select(["id", "amount", "note", "_source_row"]).to_pylist() == [
        {"id": 1, "amount": 10.0, "note": None, "_source_row": 1},
        {"id": 2, "amount": 11.0, "note": None, "_source_row": 2},
        {"id": 3, "amount": 2.5, "note": "late", "_source_row": 3},
        {"id": 4, "amount": 12.0, "note": None, "_source_row": 4},
    ]
    assert read_file(path, "jsonl", "grow.jsonl").table.equals(upload.select(["id", "amount", "note", "_source_row"]))


def test_integers_a_double_cannot_hold_make_a_column_typed_apart_text_with_every_digit(tmp_path, monkeypatch):
    monkeypatch.setattr(json_records, "BATCH_RECORDS", 1)
    path = _write(tmp_path, "big.jsonl", _jsonl([{"v": 2**53 + 1}, {"v": 1.5}, {"v": "n/a"}]))

    _, upload = _uploaded(tmp_path, path)

    assert upload.column("v").to_pylist() == ["9007199254740993", "1.5", "n/a"]


def test_an_invalid_line_is_a_reject_with_its_line_number_and_the_others_load(tmp_path):
    content = '{"id": 1}\n{"id": 2,\n\n"just a string"\n{"id": 3}\r\n'
    result = read_file(_write(tmp_path, "bad.jsonl", content), "jsonl", "bad.jsonl")

    assert result.table.to_pylist() == [{"id": 1, "_source_row": 1}, {"id": 3, "_source_row": 5}]
    assert [(reject.line, reject.raw) for reject in result.rejects] == [(2, '{"id": 2,'), (4, '"just a string"')]
    assert result.rejects[0].reason.startswith("invalid JSON: ")


@pytest.mark.parametrize("content", ['[{"a": 1}, {"b": ]', '[{"a": 1}] trailing', '{"a": 1'])
def test_a_broken_json_document_is_one_sentence_naming_the_file(tmp_path, monkeypatch, content):
    monkeypatch.setattr(json_records, "BATCH_RECORDS", 1)
    with pytest.raises(IngestError) as raised:
        read_file(_write(tmp_path, "broken.json", content), "auto", "broken.json")

    message = str(raised.value)
    assert message.startswith("Cannot read 'broken.json' as json (") and "error" in message
    assert "\n" not in message and message.count(". ") == 0 and message.endswith("real format.")


def test_a_document_that_is_one_object_is_one_row(tmp_path):
    result = read_file(_write(tmp_path, "one.json", '{\n  "id": 7,\n  "user": {"name": "Zoé"}\n}\n'), "auto", "one.json")

    assert result.table.to_pylist() == [{"id": 7, "user__name": "Zoé", "_source_row": 1}]


def test_items_of_a_document_array_that_are_not_objects_are_rejects_numbered_by_position(tmp_path):
    result = read_file(_write(tmp_path, "mixed.json", '[{"a": 1}, 2, ["x"], {"a": 3}]'), "json", "mixed.json")

    assert result.table.to_pylist() == [{"a": 1, "_source_row": 1}, {"a": 3, "_source_row": 4}]
    assert result.rejects == [Reject(2, "expected a JSON object", "2"), Reject(3, "expected a JSON object", '["x"]')]


def test_integers_past_64_bits_in_a_document_keep_every_digit(tmp_path, monkeypatch):
    # yajl stops at them: the Python parser reads on from that item, without repeating the ones before
    monkeypatch.setattr(json_records, "BATCH_RECORDS", 1)
    content = json.dumps([{"id": 1}, {"id": 2}, {"id": 123456789012345678901234}, {"id": 4}])
    result = read_file(_write(tmp_path, "big.json", content), "json", "big.json")

    assert result.table.column("id").to_pylist() == ["1", "2", "123456789012345678901234", "4"]
    assert result.table.column("_source_row").to_pylist() == [1, 2, 3, 4]


@pytest.mark.parametrize(("name", "encoding"), [("bom.jsonl", "utf-8-sig"), ("bom.json", "utf-8-sig"), ("wide.jsonl", "utf-16")])
def test_unicode_and_a_byte_order_mark(tmp_path, name, encoding):
    records = [{"Prénom": "Zoé", "ville": "Zürich 🇨🇭", "note": "a\u2028b"}]
    text = json.dumps(records, ensure_ascii=False) if name.endswith(".json") else _jsonl(records).replace("\\u2028", "\u2028")
    result = read_file(_write(tmp_path, name, text.encode(encoding)), "auto", name)

    assert result.table.to_pylist() == [{"prenom": "Zoé", "ville": "Zürich 🇨🇭", "note": "a\u2028b", "_source_row": 1}]
    assert result.columns["prenom"] == "Prénom"


def test_strings_with_leading_zeros_stay_strings(tmp_path):
    result = read_file(_write(tmp_path, "codes.jsonl", '{"code": "007", "zip": "01000"}\n{"code": "8", "zip": "75001"}\n'), "jsonl", "codes.jsonl")

    assert result.table.schema.field("code").type == pa.string()
    assert result.table.column("code").to_pylist() == ["007", "8"]
    assert result.table.column("zip").to_pylist() == ["01000", "75001"]


def test_key_paths_whose_names_meet_keep_both_values(tmp_path):
    # a key's own underscores collapse to one (`a__b` is `a_b`), so only a path can be named `a__b`
    content = '{"a__b": 1, "a": {"b": 2}}\n{"user name": {"cc": "FR"}, "user_name": {"cc": "BE"}}\n{"user_name": {"cc": "NL"}}\n'
    result = read_file(_write(tmp_path, "clash.jsonl", content), "jsonl", "clash.jsonl")

    assert result.table.drop_columns(["_source_row"]).to_pylist() == [
        {"a_b": 1, "a__b": 2, "user_name__cc": None, "user_name__cc_2": None},
        {"a_b": None, "a__b": None, "user_name__cc": "FR", "user_name__cc_2": "BE"},
        {"a_b": None, "a__b": None, "user_name__cc": None, "user_name__cc_2": "NL"},
    ]
    assert result.columns == {"a_b": "a__b", "a__b": "a.b", "user_name__cc": "user name.cc", "user_name__cc_2": "user_name.cc"}


@pytest.mark.parametrize(("name", "content"), [("empty.json", ""), ("blank.json", " \n"), ("none.json", "[]"), ("empty.jsonl", ""), ("blank.jsonl", "\n\n")])
def test_a_file_without_records_has_no_rows(tmp_path, name, content):
    path = _write(tmp_path, name, content)

    result = read_file(path, "auto", name)
    spooled, upload = _uploaded(tmp_path, path)

    assert result.table.num_rows == 0 and result.rejects == []
    assert spooled.rows == 0 and upload.num_rows == 0


def test_a_column_only_one_file_fills_keeps_that_files_type(tmp_path):
    parts = []
    for name, content in (("a.jsonl", '{"x": null, "y": 1}\n'), ("b.jsonl", '{"x": 5, "y": 1.5}\n')):
        path = _write(tmp_path, name, content)
        parts.append(spool_file(stream_file(path, "jsonl", name), Lineage(name, MORNING), tmp_path / f"{name}.parquet"))

    combine_parts(parts, tmp_path / "upload.parquet")

    upload = pq.read_table(tmp_path / "upload.parquet")
    assert upload.schema.field("x").type == pa.int64() and upload.schema.field("y").type == pa.float64()
    assert upload.select(["x", "y"]).to_pylist() == [{"x": None, "y": 1.0}, {"x": 5, "y": 1.5}]
