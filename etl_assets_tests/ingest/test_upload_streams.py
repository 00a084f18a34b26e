"""A big upload is read and written batch by batch: its memory does not grow with the file, and its line numbers stay right."""

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import PartitionsConfig
from etl_assets.ingest.model import Lineage, ReadResult, StreamedRead
from etl_assets.ingest.spool import repetitive_columns, spool_file
from etl_assets.ingest.upload import ingest_window, upload_path
from etl_assets.ingest.windows import window_from_key
from etl_assets.paths import ProjectPaths

from .helpers import dataset, land

DAY = window_from_key("2026-11-20", PartitionsConfig())
MORNING = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HEADER = "order_id,customer_id,order_date,status,amount,currency,country,email,note\n"


def land_orders(home: Path, rows: int, bad_line: int | None = None) -> None:
    """Land `rows` nine-column orders whose values must keep their text; `bad_line` (a file line number) has a field too many."""
    path = land(ProjectPaths(home).landing / "orders", "orders.csv", HEADER, MORNING)
    with path.open("a") as handle:
        for index in range(rows):
            line = f'{index},{index % 99991:06d},2026-11-20,paid,+{index % 1000}.50,EUR,DE,user{index}@example.com,"note, {index}"'
            handle.write(line + (",extra\n" if index + 2 == bad_line else "\n"))
    os.utime(path, (MORNING.timestamp(), MORNING.timestamp()))


def test_a_large_file_is_written_in_several_row_groups_with_its_lines_and_values_kept(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    land_orders(paths.home, 200_000, bad_line=150_001)

    result = ingest_window(dataset(paths.landing / "orders"), paths, DAY)

    parquet = pq.ParquetFile(result.output_path)
    assert parquet.metadata.num_row_groups > 1
    assert result.row_count == parquet.metadata.num_rows == 199_999
    [reject] = [json.loads(line) for line in result.rejects_path.read_text().splitlines()]
    assert (reject["line"], reject["reason"]) == (150_001, "expected 9 fields, found 10")
    table = pq.read_table(result.output_path, columns=["order_id", "customer_id", "amount", "note", "_source_row"])
    last = table.slice(table.num_rows - 1).to_pylist()[0]
    assert last == {"order_id": "199999", "customer_id": f"{199_999 % 99991:06d}", "amount": "+999.50", "note": "note, 199999", "_source_row": 200_001}
    # Line 150,001 was rejected: the row before it keeps its line, the one after it follows on.
    assert table.column("_source_row").to_pylist()[149_998:150_000] == [150_000, 150_002]
    assert not list(upload_path(paths, "orders", DAY.key).parent.glob(".*parts"))  # the parts are gone


UPLOAD_SCRIPT = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from etl_assets.config.models import PartitionsConfig
from etl_assets.ingest.upload import ingest_window
from etl_assets.ingest.windows import window_from_key
from etl_assets.paths import ProjectPaths
from etl_assets_tests.ingest.helpers import dataset
paths = ProjectPaths(Path(sys.argv[1]))
def peak_kib():  # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's size
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
before = peak_kib()
ingest_window(dataset(paths.landing / "orders"), paths, window_from_key("2026-11-20", PartitionsConfig()))
print(before, peak_kib())
"""


def _upload_growth_kib(home: Path, rows: int) -> int:
    """How far an upload of `rows` rows raises a fresh process's peak memory above what its imports took."""
    land_orders(home, rows)
    done = subprocess.run([sys.executable, "-c", UPLOAD_SCRIPT, str(home)], capture_output=True, text=True, timeout=300, check=True)
    before, peak = map(int, done.stdout.split())
    return peak - before


@pytest.mark.slow
def test_an_upload_four_times_larger_takes_about_the_same_memory(tmp_path):
    small = _upload_growth_kib(tmp_path / "small", 250_000)
    large = _upload_growth_kib(tmp_path / "large", 1_000_000)

    assert large < 1.5 * small, f"peak grew {small} KiB -> {large} KiB for 4x the rows"


def test_rows_spooled_under_one_name_carry_the_lineage_the_archive_keeps_for_their_bytes(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    land(paths.landing / "orders", "a.csv", "id\n1\n", datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    land(paths.landing / "orders", "b.csv", "id\n1\n", MORNING)

    result = ingest_window(dataset(paths.landing / "orders"), paths, DAY)

    assert [file.original_name for file in result.files] == ["b.csv"]
    rows = pq.read_table(result.output_path).to_pylist()
    assert rows == [{"id": "1", "_source_file": "b.csv", "_source_row": 2, "_arrived_at": MORNING}]


def _batches(count: int, fail_after: int | None = None):
    for index in range(count):
        if index == fail_after:
            raise OSError("the disk went away")
        yield pa.table({"n": pa.array(range(index * 70_000, (index + 1) * 70_000), pa.int64()),
                        "_source_row": pa.array(range(index * 70_000, (index + 1) * 70_000), pa.int64())})  # fmt: skip


def test_row_groups_written_beside_the_reader_keep_their_order(tmp_path):
    empty = pa.table({"n": pa.array([], pa.int64()), "_source_row": pa.array([], pa.int64())})
    streamed = StreamedRead(_batches(6), lambda: ReadResult(empty, [], {"n": "n"}))

    spooled = spool_file(streamed, Lineage("a.csv", MORNING), tmp_path / "part.parquet")

    written = pq.read_table(tmp_path / "part.parquet")
    assert spooled.rows == written.num_rows == 420_000
    assert written.column("n").to_pylist() == list(range(420_000))
    assert pq.ParquetFile(tmp_path / "part.parquet").num_row_groups == 6


def test_a_read_that_fails_midway_raises_its_error_and_leaves_no_writer_running(tmp_path):
    streamed = StreamedRead(_batches(6, fail_after=4), lambda: pytest.fail("no summary after a failed read"))

    with pytest.raises(OSError, match="the disk went away"):
        spool_file(streamed, Lineage("a.csv", MORNING), tmp_path / "part.parquet")

    assert not [thread for thread in threading.enumerate() if thread.name.startswith("spool-write")]
    # the file was closed, holding whole row groups of the rows before the failure; writes still queued when the
    # read failed may have been cancelled (write_behind.py), and the upload discards the part anyway
    written = pq.read_table(tmp_path / "part.parquet").column("n").to_pylist()
    assert written == list(range(len(written))) and len(written) % 70_000 == 0 and len(written) <= 4 * 70_000


def test_only_columns_whose_values_repeat_are_dictionary_encoded(tmp_path):
    rows = 70_000
    batch = pa.table({
        "id": [str(n) for n in range(rows)], "status": ["paid", "open"] * (rows // 2),
        "payload": pa.array(["{}"] * rows, pa.json_()), "nothing": pa.nulls(rows),
        "_source_row": pa.array(range(rows), pa.int64()),
    })  # fmt: skip
    streamed = StreamedRead(iter([batch]), lambda: ReadResult(batch.slice(0, 0), [], {}))

    spool_file(streamed, Lineage("a.csv", MORNING), tmp_path / "part.parquet")

    parquet = pq.ParquetFile(tmp_path / "part.parquet")
    group = parquet.metadata.row_group(0)
    encodings = {group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)}
    assert "RLE_DICTIONARY" not in encodings["id"], "an id would fill a dictionary only to give it up"
    assert all("RLE_DICTIONARY" in encodings[name] for name in ("status", "payload", "_source_file"))
    assert parquet.read().select(["id", "status", "payload", "nothing"]).equals(batch.drop_columns(["_source_row"]))
    nested = batch.append_column("tags", pa.array([["a"]] * rows))
    assert repetitive_columns(nested) is True, "nested leaves keep their dictionaries, as before"


def test_text_columns_are_written_without_min_and_max(tmp_path):
    # every stage scans an upload whole: the min and max of its text only cost the writer
    rows = 70_000
    batch = pa.table({"id": [str(n) for n in range(rows)], "_source_row": pa.array(range(rows), pa.int64())})
    streamed = StreamedRead(iter([batch]), lambda: ReadResult(batch.slice(0, 0), [], {}))

    spool_file(streamed, Lineage("a.csv", MORNING), tmp_path / "part.parquet")

    group = pq.ParquetFile(tmp_path / "part.parquet").metadata.row_group(0)
    statistics = {group.column(i).path_in_schema: group.column(i).is_stats_set for i in range(group.num_columns)}
    assert statistics == {"id": False, "_source_file": False, "_source_row": True, "_arrived_at": True}
