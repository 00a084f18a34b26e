import hashlib
import json
from datetime import UTC, datetime

from etl_assets.ingest.archive import archive_file, archived_files
from etl_assets.ingest.landing import LocalLandingZone

from .helpers import land

FIRST = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SECOND = datetime(2026, 11, 21, 9, 15, 30, tzinfo=UTC)


def _landed(landing, name):
    return next(file for file in LocalLandingZone(landing, "*").list_files() if file.name == name)


def test_archives_by_hash_with_a_sidecar_and_leaves_landing(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "Orders.CSV", "id\n1\n", FIRST)
    sha = hashlib.sha256(b"id\n1\n").hexdigest()

    outcome = archive_file(_landed(landing, "Orders.CSV"), archive, "2026-11-20")

    assert not outcome.duplicate
    assert outcome.file.path == archive / "2026-11-20" / f"{sha}.csv"
    assert outcome.file.path.read_bytes() == b"id\n1\n"
    assert not (landing / "Orders.CSV").exists()
    sidecar = json.loads((archive / "2026-11-20" / f"{sha}.meta.json").read_text())
    assert sidecar == {"original_name": "Orders.CSV", "arrived_at": FIRST.isoformat(), "size": 5, "sha256": sha}
    assert archived_files(archive, "2026-11-20") == [outcome.file]


def test_same_bytes_again_go_to_duplicates_in_any_window_and_are_kept(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "a.csv", "id\n1\n", FIRST)
    original = archive_file(_landed(landing, "a.csv"), archive, "2026-11-20").file
    land(landing, "a copy.csv", "id\n1\n", SECOND)
    land(landing, "a.json", "id\n1\n", SECOND)

    copy = archive_file(_landed(landing, "a copy.csv"), archive, "2026-11-21")
    other_extension = archive_file(_landed(landing, "a.json"), archive, "2026-11-21")

    assert copy.duplicate and other_extension.duplicate
    assert copy.file.path == archive / "2026-11-21" / "duplicates" / "20261121T091530Z-a copy.csv"
    assert copy.file.path.read_bytes() == b"id\n1\n"
    assert other_extension.file.path.read_bytes() == b"id\n1\n"
    assert archived_files(archive, "2026-11-20") == [original]
    assert archived_files(archive, "2026-11-21") == []


def test_duplicate_names_never_overwrite_each_other(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "a.csv", "id\n1\n", FIRST)
    archive_file(_landed(landing, "a.csv"), archive, "2026-11-20")
    kept = []
    for _ in range(2):
        land(landing, "a.csv", "id\n1\n", SECOND)
        kept.append(archive_file(_landed(landing, "a.csv"), archive, "2026-11-20").file.path)
    assert kept[0] != kept[1]
    assert all(path.read_bytes() == b"id\n1\n" for path in kept)


def test_archived_files_are_in_arrival_order_and_a_json_upload_does_not_clash_with_its_sidecar(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "late.json", '[{"id": 2}]', SECOND)
    land(landing, "early.csv", "id\n1\n", FIRST)
    for file in LocalLandingZone(landing, "*").list_files():
        archive_file(file, archive, "2026-11-20")

    files = archived_files(archive, "2026-11-20")

    assert [file.original_name for file in files] == ["early.csv", "late.json"]
    assert files[1].path.read_text() == '[{"id": 2}]'


def test_an_interrupted_archive_is_completed_by_the_next_run(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "a.csv", "id\n1\n", FIRST)
    sha = hashlib.sha256(b"id\n1\n").hexdigest()
    # A run that died after its sidecar but before moving the data leaves exactly this behind.
    (archive / "2026-11-20").mkdir(parents=True)
    (archive / "2026-11-20" / f"{sha}.meta.json").write_text(
        json.dumps({"original_name": "a.csv", "arrived_at": FIRST.isoformat(), "size": 5, "sha256": sha})
    )
    assert archived_files(archive, "2026-11-20") == []

    outcome = archive_file(_landed(landing, "a.csv"), archive, "2026-11-20")

    assert not outcome.duplicate
    assert archived_files(archive, "2026-11-20") == [outcome.file]
