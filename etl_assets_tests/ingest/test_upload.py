import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import PartitionsConfig
from etl_assets.ingest.landing import LocalLandingZone
from etl_assets.ingest.pending import pending_uploads
from etl_assets.ingest.upload import ingest_window, upload_path
from etl_assets.ingest.windows import window_for, window_from_key
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

    result = ingest_window(dataset(landing, max_reject_percent=25), paths, DAY)

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
    first = pq.read_table(ingest_window(dataset(landing, max_reject_percent=25), paths, DAY).output_path)

    rerun = ingest_window(dataset(landing, max_reject_percent=25), paths, DAY)
    assert pq.read_table(rerun.output_path).equals(first)
    assert (rerun.new_files, rerun.duplicate_files) == (0, 0)

    land(landing, "morning again.csv", "Order ID,Amount\n1,10.5\n2,oops,extra\n3,7\n", NOON)
    with_copy = ingest_window(dataset(landing, max_reject_percent=25), paths, DAY)
    assert pq.read_table(with_copy.output_path).equals(first)
    assert (with_copy.new_files, with_copy.duplicate_files) == (0, 1)
    duplicates = list((paths.archive / "orders" / "2026-11-20" / "duplicates").iterdir())
    assert [path.name for path in duplicates] == ["20261120T120000Z-morning again.csv"]


def test_a_later_file_for_the_window_is_added_to_the_earlier_ones(tmp_path):
    paths, landing = _setup(tmp_path)
    ingest_window(dataset(landing, max_reject_percent=25), paths, DAY)
    land(landing, "evening.csv", "Order ID\n6\n", datetime(2026, 11, 20, 20, 0, tzinfo=UTC))

    result = ingest_window(dataset(landing, max_reject_percent=25), paths, DAY)

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


def test_pending_uploads_groups_landed_files_by_window(tmp_path):
    paths, landing = _setup(tmp_path)
    pending = pending_uploads(dataset(landing), LocalLandingZone(landing, "*", settle_seconds=0)).windows
    assert {key: [file.name for file in files] for key, files in pending.items()} == {
        "2026-11-20": ["morning.csv", "noon.jsonl"],
        "2026-11-21": ["tomorrow.csv"],
    }


def test_an_unreadable_file_is_set_aside_with_its_reason_and_the_others_load(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "broken.json", '[{"id": 1', MORNING)
    land(landing, "good.csv", "id\n7\n", NOON)

    result = ingest_window(dataset(landing), paths, DAY)

    assert _ids(result) == ["7"]
    assert [file.name for file in result.failed_files] == ["broken.json"]
    assert "'broken.json' as json" in result.failed_files[0].reason
    assert not (landing / "broken.json").exists()
    assert (landing / "_failed" / "broken.json").read_text() == '[{"id": 1'
    assert "'broken.json' as json" in (landing / "_failed" / "broken.json.reason.txt").read_text()
    assert [path.name for path in (paths.archive / "orders").rglob("*") if path.is_file() and "broken" in path.name] == []
    # set aside once: the next run neither retries it nor fails
    assert ingest_window(dataset(landing), paths, DAY).failed_files == []


def test_a_file_set_aside_twice_under_one_name_keeps_both(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    for content in ("\x00\x01binary", "\x00\x02binary"):
        land(landing, "bad.json", content, MORNING)
        ingest_window(dataset(landing), paths, DAY)

    failed = LocalLandingZone(landing, "*", settle_seconds=0).failed_files()
    assert sorted(file.name for file in failed) == ["bad-2.json", "bad.json"]
    assert {(landing / "_failed" / file.name).read_text() for file in failed} == {"\x00\x01binary", "\x00\x02binary"}


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


def _ids(result) -> list[str]:
    return pq.read_table(result.output_path).column("id").to_pylist()


def test_a_new_version_of_a_file_replaces_the_old_one_in_its_window(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "f.csv", "id,value\n1,a\n2,b\n3,c\n", MORNING)
    ingest_window(dataset(landing), paths, DAY)
    land(landing, "f.csv", "id,value\n1,A\n2,B\n3,C\n", NOON)

    result = ingest_window(dataset(landing), paths, DAY)

    table = pq.read_table(result.output_path)
    assert table.select(["id", "value", "_source_file"]).to_pylist() == [
        {"id": "1", "value": "A", "_source_file": "f.csv"},
        {"id": "2", "value": "B", "_source_file": "f.csv"},
        {"id": "3", "value": "C", "_source_file": "f.csv"},
    ]
    assert table.column("_arrived_at").to_pylist() == [NOON] * 3
    archived = sorted(path.read_text() for path in (paths.archive / "orders" / "2026-11-20").glob("*.csv"))
    assert archived == ["id,value\n1,A\n2,B\n3,C\n", "id,value\n1,a\n2,b\n3,c\n"], "the older version stays archived"


def test_the_same_bytes_arriving_in_another_window_give_that_window_its_rows(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "f.csv", "id\n1\n2\n3\n", MORNING)
    ingest_window(dataset(landing), paths, DAY)
    land(landing, "f.csv", "id\n1\n2\n3\n", NEXT_DAY)

    next_day = ingest_window(dataset(landing), paths, window_from_key("2026-11-21", PartitionsConfig()))

    assert _ids(next_day) == ["1", "2", "3"]
    assert (next_day.new_files, next_day.duplicate_files) == (1, 0)
    assert _ids(ingest_window(dataset(landing), paths, DAY)) == ["1", "2", "3"]


WRITE_IN_TWO_PARTS = """
import sys
path, first, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as out:
    out.write("id,value\\n")
    out.writelines(f"{i},value {i}\\n" for i in range(1, first + 1))
    out.flush()
    print("paused", flush=True)
    sys.stdin.readline()
    out.writelines(f"{i},value {i}\\n" for i in range(first + 1, total + 1))
"""


@pytest.mark.slow
def test_a_file_still_being_written_is_left_in_landing_until_it_has_settled(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    landing.mkdir(parents=True)
    orders = dataset(landing, settle_seconds=2)
    path = landing / "big.csv"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITE_IN_TWO_PARTS, str(path), "6500", "20000"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline() == "paused\n"
        window = window_for(datetime.fromtimestamp(path.stat().st_mtime, UTC), orders.partitions)
        while_written = ingest_window(orders, paths, window)
        writer.communicate("go on\n", timeout=60)
    finally:
        writer.kill()
    assert len(path.read_text().splitlines()) == 20001, "the file stays in landing and the writer finished it"
    assert (while_written.row_count, while_written.new_files, while_written.settling_files) == (0, 0, 1)
    complete_bytes = path.read_bytes()
    time.sleep(max(0.0, path.stat().st_mtime + 2.05 - time.time()))

    complete = ingest_window(orders, paths, window)

    assert _ids(complete) == [str(i) for i in range(1, 20001)]
    assert complete.settling_files == 0
    assert complete.files[0].sha256 == hashlib.sha256(complete_bytes).hexdigest() == hashlib.sha256(complete.files[0].path.read_bytes()).hexdigest()
    land(landing, "big.csv", complete_bytes, datetime.now(UTC) - timedelta(seconds=3))
    again = ingest_window(orders, paths, window)
    assert (again.row_count, again.duplicate_files) == (20000, 1), "the full file uploaded again does not double the rows"


APPEND_UNTIL_TERMINATED = """
import os, signal, sys
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
os.write(fd, b"id,value\\n")
row = 0
while not stop:
    row += 1
    os.write(fd, f"{row},{'x' * 100}\\n".encode())
    if row == 100_000:
        print("big", flush=True)
"""


@pytest.mark.slow
def test_a_file_appended_to_while_it_is_copied_stays_in_landing_for_the_next_run(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    landing.mkdir(parents=True)
    orders = dataset(landing, settle_seconds=0)
    path = landing / "growing.csv"
    writer = subprocess.Popen([sys.executable, "-c", APPEND_UNTIL_TERMINATED, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "big\n"
        window = window_for(datetime.fromtimestamp(path.stat().st_mtime, UTC), orders.partitions)
        while_appended = ingest_window(orders, paths, window)
    finally:
        writer.terminate()
        writer.wait(timeout=60)
    assert path.exists(), "the file stays in landing"
    assert [p for p in (paths.archive / "orders").rglob("*") if p.is_file()] == [], "no copy is kept of a changing file"
    assert (while_appended.row_count, while_appended.settling_files) == (0, 1)
    written = len(path.read_text().splitlines()) - 1

    complete = ingest_window(orders, paths, window)

    assert written > 100_000
    assert _ids(complete) == [str(i) for i in range(1, written + 1)]
    assert list(landing.iterdir()) == []


def test_a_fresh_file_waits_for_the_default_settle_time(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    now = datetime.now(UTC)
    land(landing, "fresh.csv", "id\n1\n", now)

    result = ingest_window(dataset(landing), paths, window_for(now, PartitionsConfig()))

    assert (landing / "fresh.csv").read_text() == "id\n1\n"
    assert (result.row_count, result.settling_files) == (0, 1)


def test_a_window_of_what_real_uploads_contain_loads_every_good_row_and_sets_aside_every_bad_file(tmp_path):
    import gzip
    import io
    import zipfile

    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.csv", "id\n" + "0\n" * 3_000_000)
    uploads = {
        "good.csv": "\ufeffid,name\n001,Zoë\n002,\"Smith, J\"\n",
        "empty.csv": "",
        "header_only.csv": "id,name\n",
        "image.csv": bytes(range(256)) * 64,
        "cut.csv.gz": gzip.compress(b"id,name\n003,x\n" * 1000)[:-30],
        "broken.json": '[{"id": "004"}, {"id": ',
        "bomb.zip": bomb.getvalue(),
        "again.csv": "\ufeffid,name\n001,Zoë\n002,\"Smith, J\"\n",  # the same bytes as good.csv under another name
        "more.jsonl.gz": gzip.compress('{"id": "005", "name": {"first": "Ana"}}\n'.encode()),
    }
    for offset, (name, content) in enumerate(uploads.items()):
        land(landing, name, content, MORNING + timedelta(minutes=offset))

    result = ingest_window(dataset(landing, max_expansion_ratio=50), paths, DAY)

    table = pq.read_table(result.output_path)
    assert table.select(["id", "name", "name__first", "_source_file"]).to_pylist() == [
        {"id": "001", "name": "Zoë", "name__first": None, "_source_file": "good.csv"},
        {"id": "002", "name": "Smith, J", "name__first": None, "_source_file": "good.csv"},
        {"id": "005", "name": None, "name__first": "Ana", "_source_file": "more.jsonl.gz"},
    ]
    failed = {file.name: file.reason for file in result.failed_files}
    assert sorted(failed) == ["bomb.zip", "broken.json", "cut.csv.gz", "image.csv"]
    assert "not text in any encoding" in failed["image.csv"]
    assert "truncated" in failed["cut.csv.gz"]
    assert "'broken.json' as json" in failed["broken.json"]
    assert "max_expansion_ratio" in failed["bomb.zip"]
    assert sorted(path.name for path in (landing / "_failed").iterdir()) == sorted([*failed, *(f"{name}.reason.txt" for name in failed)])
    assert [path.name for path in landing.iterdir()] == ["_failed"]
    assert result.reject_count == 0
