"""Compressed and zipped uploads: read as they are unpacked, each zip member a file of its own, bombs and broken files refused."""

import bz2
import gzip
import io
import json
import zipfile
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from etl_assets.config.models import PartitionsConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.members import file_members
from etl_assets.ingest.model import ReadOptions
from etl_assets.ingest.upload import ingest_window
from etl_assets.ingest.windows import window_from_key
from etl_assets.paths import ProjectPaths

from .helpers import dataset, land

COMPRESSORS = {"gz": gzip.compress, "bz2": bz2.compress, "zst": zstandard.ZstdCompressor().compress}
ROWS = [{"id": 1, "name": "Zoë"}, {"id": 2, "name": "Ødegaard"}, {"id": 3, "name": None}]
DAY = window_from_key("2026-11-20", PartitionsConfig())
MORNING = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _content(fmt: str) -> bytes:
    if fmt in ("csv", "tsv"):
        separator = "," if fmt == "csv" else "\t"
        lines = [separator.join(["id", "name"])] + [separator.join([str(row["id"]), row["name"] or ""]) for row in ROWS]
        return ("\n".join(lines) + "\n").encode("utf-8")
    if fmt == "json":
        return json.dumps(ROWS).encode("utf-8")
    if fmt == "jsonl":
        return "".join(json.dumps(row) + "\n" for row in ROWS).encode("utf-8")
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(ROWS), buffer)
    return buffer.getvalue()


def _members(path, name, **options):
    """Each member's name and its rows, read as the upload reads them."""
    read = []
    for member, streamed in file_members(path, name, options=ReadOptions(**options), scratch=path.parent):
        tables = list(streamed.batches)
        read.append((member, pa.concat_tables(tables).to_pylist() if tables else [], streamed.summary()))
    return read


def _zip(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


@pytest.mark.parametrize("suffix", COMPRESSORS)
@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet"])
def test_every_format_compressed_reads_the_same_rows_as_plain(tmp_path, fmt, suffix):
    plain = tmp_path / f"orders.{fmt}"
    plain.write_bytes(_content(fmt))
    packed = tmp_path / f"orders.{fmt}.{suffix}"
    packed.write_bytes(COMPRESSORS[suffix](_content(fmt)))

    [(plain_name, plain_rows, plain_summary)] = _members(plain, plain.name)
    [(name, rows, summary)] = _members(packed, packed.name)

    assert (plain_name, name) == (plain.name, packed.name)
    assert rows == plain_rows and len(rows) == 3
    assert (summary.columns, summary.encoding) == (plain_summary.columns, plain_summary.encoding)
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # a Parquet's unpacked copy is gone


@pytest.mark.parametrize("suffix", COMPRESSORS)
def test_a_compressed_file_without_a_telling_name_is_known_by_its_first_bytes(tmp_path, suffix):
    path = tmp_path / "export"
    path.write_bytes(COMPRESSORS[suffix](_content("jsonl")))

    [(name, rows, _)] = _members(path, "export")

    assert name == "export"
    assert [row["name"] for row in rows] == ["Zoë", "Ødegaard", None]


def test_a_zip_is_read_member_by_member_under_their_names(tmp_path):
    path = _zip(tmp_path / "orders.zip", {
        "a.csv": b"id,amount\n1,10.5\n2,7\n",
        "nested/b.jsonl": b'{"id": 3, "email": "x@y.z"}\n',
        "c.csv.gz": gzip.compress(b"id\n4\n"),
        "d.parquet": _content("parquet"),
        "nested/": b"",
        "__MACOSX/._a.csv": b"\x00\x05\x16\x07",
        ".DS_Store": b"\x00\x00\x00\x01Bud1",
        "nested/.hidden.csv": b"id\n99\n",
    })  # fmt: skip

    read = _members(path, "orders.zip")

    assert [(name, rows) for name, rows, _ in read[:3]] == [
        ("orders.zip/a.csv", [{"id": "1", "amount": "10.5", "_source_row": 2}, {"id": "2", "amount": "7", "_source_row": 3}]),
        ("orders.zip/nested/b.jsonl", [{"id": 3, "email": "x@y.z", "_source_row": 1}]),
        ("orders.zip/c.csv.gz", [{"id": "4", "_source_row": 2}]),
    ]
    assert read[3][0] == "orders.zip/d.parquet" and len(read[3][1]) == 3
    assert len(read) == 4
    assert [path.name for path in tmp_path.iterdir()] == ["orders.zip"]


def test_a_zip_bomb_is_refused_naming_the_member_the_ratio_and_the_setting(tmp_path):
    zeros = b"0" * (50 * 1024 * 1024)
    path = _zip(tmp_path / "innocent.zip", {"a.csv": b"id\n1\n", "zeros.csv": b"n\n" + zeros})

    with pytest.raises(IngestError) as raised:
        _members(path, "innocent.zip")

    message = str(raised.value)
    assert "'innocent.zip/zeros.csv' expands to over" in message
    assert "source.max_expansion_ratio 200" in message and "zip bomb" in message


def test_a_lower_max_expansion_ratio_refuses_what_the_default_reads(tmp_path):
    # 5 MB, about 140 times smaller compressed: fine by the default 200, too much for 10, and past the first MiB, which never counts
    rows = "".join(f"{index % 1000},paid,EUR\n" for index in range(400_000)).encode()
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(b"id,status,currency\n" + rows))

    assert len(_members(path, path.name)[0][1]) == 400_000
    with pytest.raises(IngestError, match=r"'orders\.csv\.gz' expands to over \d+ times .* source\.max_expansion_ratio 10,"):
        _members(path, path.name, max_expansion_ratio=10)


def test_a_small_file_of_repeated_text_is_read_whatever_its_ratio(tmp_path):
    path = tmp_path / "same.csv.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(b"status\n" + b"paid\n" * 100_000))  # 500 KB from a few hundred bytes

    assert len(_members(path, path.name, max_expansion_ratio=2)[0][1]) == 100_000


@pytest.mark.parametrize("suffix, kind", [("gz", "gzip"), ("bz2", "bz2"), ("zst", "zstd")])
def test_a_truncated_compressed_file_is_named_not_a_traceback(tmp_path, suffix, kind):
    whole = COMPRESSORS[suffix]("".join(f"{index},row {index}\n" for index in range(50_000)).encode())
    path = tmp_path / f"orders.csv.{suffix}"
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(IngestError, match=rf"^'orders\.csv\.{suffix}' is a truncated {kind} file; upload it again in full\.$"):
        _members(path, path.name)


def test_a_plain_file_named_gz_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(b"id,name\n1,a\n")

    with pytest.raises(IngestError, match=r"'orders\.csv\.gz' is not a valid gzip file .* under a name without '\.gz'\.$"):
        _members(path, path.name)


def test_an_empty_zip_and_a_broken_zip_are_refused(tmp_path):
    empty = _zip(tmp_path / "empty.zip", {})
    junk_only = _zip(tmp_path / "junk.zip", {"__MACOSX/._x": b"", "folder/": b""})
    broken = tmp_path / "broken.zip"
    broken.write_bytes(_zip(tmp_path / "whole.zip", {"a.csv": b"id\n1\n"}).read_bytes()[:-30])  # cut in its directory

    with pytest.raises(IngestError, match=r"^'empty\.zip' holds no files; upload a zip with the files to load in it\.$"):
        _members(empty, "empty.zip")
    with pytest.raises(IngestError, match=r"^'junk\.zip' holds no files"):
        _members(junk_only, "junk.zip")
    with pytest.raises(IngestError, match=r"^'broken\.zip' is not a readable zip file \(File is not a zip file\); upload it again in full\.$"):
        _members(broken, "broken.zip")


def test_a_zip_inside_a_zip_is_not_unpacked(tmp_path):
    inner = _zip(tmp_path / "inner.zip", {"a.csv": b"id\n1\n"}).read_bytes()
    outer = _zip(tmp_path / "outer.zip", {"inner.zip": inner})

    with pytest.raises(IngestError, match=r"^'outer\.zip/inner\.zip' is a zip inside a zip or a compressed file"):
        _members(outer, "outer.zip")


def test_compressed_and_zipped_files_land_in_the_windows_upload_with_their_lineage(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "morning.csv.gz", gzip.compress(b"Order ID,Amount\n1,10.5\n2,7\n"), MORNING)
    bundle = _zip(tmp_path / "bundle.zip", {"north.csv": b"Order ID,Amount\n3,1\n", "south.jsonl": b'{"Order ID": "4"}\n'})
    land(landing, "bundle.zip", bundle.read_bytes(), datetime(2026, 11, 20, 9, 0, tzinfo=UTC))

    result = ingest_window(dataset(landing), paths, DAY)

    table = pq.read_table(result.output_path).select(["order_id", "amount", "_source_file", "_source_row"])
    assert table.to_pylist() == [
        {"order_id": "1", "amount": "10.5", "_source_file": "morning.csv.gz", "_source_row": 2},
        {"order_id": "2", "amount": "7", "_source_file": "morning.csv.gz", "_source_row": 3},
        {"order_id": "3", "amount": "1", "_source_file": "bundle.zip/north.csv", "_source_row": 2},
        {"order_id": "4", "amount": None, "_source_file": "bundle.zip/south.jsonl", "_source_row": 1},
    ]
    file_reads = [(read.name, read.rows) for read in result.file_reads]
    assert file_reads == [("morning.csv.gz", 2), ("bundle.zip/north.csv", 1), ("bundle.zip/south.jsonl", 1)]
    assert [file.original_name for file in result.files] == ["morning.csv.gz", "bundle.zip"]
    assert result.row_count == 4

    rerun = ingest_window(dataset(landing), paths, DAY)  # read again from the archive, not from the fresh parts
    assert pq.read_table(rerun.output_path).equals(pq.read_table(result.output_path))
