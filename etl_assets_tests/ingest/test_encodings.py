"""Text in the encodings real exports use decodes to what the exporter wrote, and the encoding used is reported."""

import codecs

import pytest

from etl_assets.errors import IngestError
from etl_assets.ingest.encodings import SAMPLE_BYTES
from etl_assets.ingest.readers import read_file


def _read(tmp_path, content: bytes, encoding=None, name="x.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return read_file(path, "auto", name, encoding)


def _column(result, name):
    return result.table.column(name).to_pylist()


def test_western_text_in_cp1252_decodes_right(tmp_path):
    result = _read(tmp_path, "id,name\n1,José\n2,café €\n3,naïve “q”\n".encode("cp1252"))
    assert _column(result, "name") == ["José", "café €", "naïve “q”"]
    assert result.encoding == "cp1252"


def test_a_lone_euro_sign_stays_a_euro_sign(tmp_path):
    result = _read(tmp_path, "id,price\n1,10 €\n".encode("cp1252"))
    assert _column(result, "price") == ["10 €"]


def test_latin1_german_and_french_decode_right(tmp_path):
    result = _read(tmp_path, "name,city\nnaïve,Zürich\nCafé,Besançon\nMüller,Köln\n".encode("latin-1"))
    assert _column(result, "city") == ["Zürich", "Besançon", "Köln"]


@pytest.mark.parametrize(
    ("encoding", "names"),
    [
        ("cp1251", ["Иванов Пётр", "Москва", "Съешь же ещё этих мягких французских булок"]),
        ("cp1253", ["Καλημέρα κόσμε", "Αθήνα", "Θεσσαλονίκη"]),
        ("shift_jis", ["こんにちは世界", "東京都", "大阪府"]),
        ("cp1256", ["مرحبا بالعالم", "القاهرة", "الدار البيضاء"]),
        ("gb18030", ["北京市", "你好世界", "上海市浦东新区"]),
    ],
)
def test_other_scripts_are_still_detected(tmp_path, encoding, names):
    content = "id,name\n" + "".join(f"{index},{name}\n" for index, name in enumerate(names, start=1))
    result = _read(tmp_path, content.encode(encoding))
    assert _column(result, "name") == names
    assert codecs.lookup(result.encoding).name != "cp1252"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_unicode_with_a_bom(tmp_path, encoding):
    bom = {"utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    result = _read(tmp_path, bom + "Name,Ville\r\nJosé,Zürich\r\n東京,€\r\n".encode(encoding))
    assert result.columns == {"name": "Name", "ville": "Ville"}
    assert _column(result, "ville") == ["Zürich", "€"]


def test_non_ascii_text_after_the_first_mebibyte_is_detected_where_it_is(tmp_path):
    ascii_rows = "".join(f"{index},plain\n" for index in range(SAMPLE_BYTES // 8))
    result = _read(tmp_path, ("id,name\n" + ascii_rows + "999999,Françoise\n").encode("cp1252"))
    assert _column(result, "name")[-1] == "Françoise"
    assert result.encoding == "cp1252"


def test_source_encoding_overrides_detection(tmp_path):
    result = _read(tmp_path, "id,city\n1,Łódź\n2,Kraków\n".encode("cp1250"), encoding="cp1250")
    assert _column(result, "city") == ["Łódź", "Kraków"]
    assert result.encoding == "cp1250"


def test_a_file_that_does_not_decode_in_source_encoding_names_the_file_the_encoding_and_the_line(tmp_path):
    with pytest.raises(IngestError, match=r"'x.csv' is not valid utf-8 \(source.encoding\) at line 3; set source.encoding"):
        _read(tmp_path, "id,name\n1,ok\n2,José\n".encode("cp1252"), encoding="utf-8")


@pytest.mark.parametrize("plain_rows", [0, SAMPLE_BYTES // 8, 2 * SAMPLE_BYTES])
def test_a_file_that_changes_encoding_part_way_is_refused_with_its_line(tmp_path, plain_rows):
    plain = "".join(f"{index},plain\n" for index in range(plain_rows)).encode()
    content = b"id,name\n" + plain + "1,José\n".encode() + "2,José\n".encode("cp1252")
    with pytest.raises(IngestError, match=rf"'x.csv' changes encoding at line {plain_rows + 3} \(it began as utf-8\)"):
        _read(tmp_path, content)


def test_json_lines_in_cp1252_decode_right(tmp_path):
    result = _read(tmp_path, '{"name": "Zoë"}\n'.encode("cp1252"), name="x.jsonl")
    assert _column(result, "name") == ["Zoë"]
    assert result.encoding == "cp1252"


@pytest.mark.parametrize("encoding", ["shift_jis", "cp1251", "utf-16-le"])
def test_a_file_longer_than_the_sample_is_detected_without_splitting_a_character(tmp_path, encoding):
    names = {"shift_jis": "東京都 こんにちは", "cp1251": "Москва Иванов Пётр", "utf-16-le": "José 東京"}
    rows = "".join(f"{index},{names[encoding]} {index}\n" for index in range(2 * SAMPLE_BYTES // 20))
    result = _read(tmp_path, ("id,name\n" + rows).encode(encoding))
    assert _column(result, "name")[-1] == f"{names[encoding]} {2 * SAMPLE_BYTES // 20 - 1}"
