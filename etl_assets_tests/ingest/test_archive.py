import errno
import hashlib
import json
import os
from datetime import UTC, datetime

import pytest

from etl_assets.ingest.archive import archive_file, archived_files
from etl_assets.ingest.landing import LocalLandingZone

from .helpers import land

FIRST = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LATEST = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SECOND = datetime(2026, 11, 21, 9, 15, 30, tzinfo=UTC)


def _zone(landing):
    return LocalLandingZone(landing, "*", settle_seconds=0)


def _landed(landing, name):
    return next(file for file in _zone(landing).list_files() if file.name == name)


def _take(landing, archive, name, window="2026-11-20"):
    """Archive a landed file, reading the archived copy as its bytes."""
    return archive_file(_landed(landing, name), _zone(landing), archive, window, read=lambda path: path.read_bytes())


def test_archives_by_hash_with_a_sidecar_reads_the_copy_and_leaves_landing(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "Orders.CSV", "id\n1\n", FIRST)
    sha = hashlib.sha256(b"id\n1\n").hexdigest()

    outcome = _take(landing, archive, "Orders.CSV")

    assert outcome.status == "new"
    assert outcome.read == b"id\n1\n"
    assert outcome.file.path == archive / "2026-11-20" / f"{sha}.csv"
    assert outcome.file.path.read_bytes() == b"id\n1\n"
    assert not (landing / "Orders.CSV").exists()
    sidecar = json.loads((archive / "2026-11-20" / f"{sha}.meta.json").read_text())
    assert sidecar.pop("archived_at")
    assert sidecar == {"original_name": "Orders.CSV", "arrived_at": FIRST.isoformat(), "size": 5, "sha256": sha}
    assert archived_files(archive, "2026-11-20") == [outcome.file]
    assert sorted(path.name for path in (archive / "2026-11-20").iterdir()) == [f"{sha}.csv", f"{sha}.meta.json"]


def test_same_bytes_again_in_the_window_are_kept_as_duplicates_and_not_read(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "a.csv", "id\n1\n", FIRST)
    original = _take(landing, archive, "a.csv").file
    land(landing, "a copy.csv", "id\n1\n", LATER)
    land(landing, "a.json", "id\n1\n", LATER)

    copy = _take(landing, archive, "a copy.csv")
    other_extension = _take(landing, archive, "a.json")

    assert (copy.status, other_extension.status) == ("duplicate", "duplicate")
    assert copy.read is None and other_extension.read is None
    assert copy.file.path == archive / "2026-11-20" / "duplicates" / "20261120T090000Z-a copy.csv"
    assert copy.file.path.read_bytes() == other_extension.file.path.read_bytes() == b"id\n1\n"
    assert archived_files(archive, "2026-11-20") == [original]
    assert list(landing.iterdir()) == []


def test_same_bytes_in_another_window_are_archived_and_read_there(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "f.csv", "id\n1\n", FIRST)
    _take(landing, archive, "f.csv")
    land(landing, "f.csv", "id\n1\n", SECOND)

    next_day = _take(landing, archive, "f.csv", window="2026-11-21")

    assert next_day.status == "new" and next_day.read == b"id\n1\n"
    assert [(f.original_name, f.arrived_at) for f in archived_files(archive, "2026-11-21")] == [("f.csv", SECOND)]
    assert [(f.original_name, f.arrived_at) for f in archived_files(archive, "2026-11-20")] == [("f.csv", FIRST)]


def test_a_new_version_of_a_name_replaces_the_old_one_which_stays_archived(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "f.csv", "id,v\n1,old\n", FIRST)
    old = _take(landing, archive, "f.csv").file
    land(landing, "f.csv", "id,v\n1,new\n", LATER)

    new = _take(landing, archive, "f.csv")

    assert new.status == "new"
    assert archived_files(archive, "2026-11-20") == [new.file]
    assert old.path.read_text() == "id,v\n1,old\n"


def test_the_bytes_of_an_older_version_make_it_current_again(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    for arrived, content in ((FIRST, "id,v\n1,old\n"), (LATER, "id,v\n1,new\n")):
        land(landing, "f.csv", content, arrived)
        _take(landing, archive, "f.csv")
    land(landing, "f.csv", "id,v\n1,old\n", LATEST)

    again = _take(landing, archive, "f.csv")

    assert again.status == "duplicate"
    [current] = archived_files(archive, "2026-11-20")
    assert (current.path.read_text(), current.arrived_at) == ("id,v\n1,old\n", LATEST)


def test_the_same_bytes_again_under_the_same_name_change_nothing(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "f.csv", "id\n1\n", FIRST)
    _take(landing, archive, "f.csv")
    before = archived_files(archive, "2026-11-20")
    land(landing, "f.csv", "id\n1\n", LATER)

    assert _take(landing, archive, "f.csv").status == "duplicate"
    assert archived_files(archive, "2026-11-20") == before


def test_a_file_that_changed_since_it_was_listed_stays_in_landing(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "f.csv", "id\n1\n", FIRST)
    listed = _landed(landing, "f.csv")
    with (landing / "f.csv").open("a") as handle:
        handle.write("2\n")

    outcome = archive_file(listed, _zone(landing), archive, "2026-11-20", read=lambda path: path.read_bytes())

    assert (outcome.status, outcome.file, outcome.read) == ("changed", None, None)
    assert (landing / "f.csv").read_text() == "id\n1\n2\n"
    assert [path for path in archive.rglob("*") if path.is_file()] == []


def test_duplicate_names_never_overwrite_each_other(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "a.csv", "id\n1\n", FIRST)
    _take(landing, archive, "a.csv")
    kept = []
    for _ in range(2):
        land(landing, "a.csv", "id\n1\n", SECOND)
        kept.append(_take(landing, archive, "a.csv").file.path)
    assert kept[0] != kept[1]
    assert all(path.read_bytes() == b"id\n1\n" for path in kept)


def test_archived_files_are_in_arrival_order_and_a_json_upload_does_not_clash_with_its_sidecar(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "late.json", '[{"id": 2}]', SECOND)
    land(landing, "early.csv", "id\n1\n", FIRST)
    for file in _zone(landing).list_files():
        archive_file(file, _zone(landing), archive, "2026-11-20", read=lambda path: None)

    files = archived_files(archive, "2026-11-20")

    assert [file.original_name for file in files] == ["early.csv", "late.json"]
    assert files[1].path.read_text() == '[{"id": 2}]'


def test_a_sidecar_without_its_content_is_completed_by_the_next_run(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "a.csv", "id\n1\n", FIRST)
    sha = hashlib.sha256(b"id\n1\n").hexdigest()
    # An earlier release wrote the sidecar before moving the data; a run that died between left this behind.
    (archive / "2026-11-20").mkdir(parents=True)
    (archive / "2026-11-20" / f"{sha}.meta.json").write_text(
        json.dumps({"original_name": "a.csv", "arrived_at": FIRST.isoformat(), "size": 5, "sha256": sha})
    )
    assert archived_files(archive, "2026-11-20") == []

    outcome = _take(landing, archive, "a.csv")

    assert outcome.status == "new"
    assert archived_files(archive, "2026-11-20") == [outcome.file]
    assert not (landing / "a.csv").exists()


def test_a_new_file_landing_under_the_same_name_while_the_copy_is_read_waits_for_the_next_run(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    land(landing, "f.csv", "id,v\n1,old\n", FIRST)

    def read_while_a_new_version_lands(path):
        land(tmp_path / "upload", "f.csv", "id,v\n1,new\n", LATER).replace(landing / "f.csv")
        return path.read_bytes()

    old = archive_file(_landed(landing, "f.csv"), _zone(landing), archive, "2026-11-20", read=read_while_a_new_version_lands)

    assert (old.status, old.read) == ("new", b"id,v\n1,old\n")
    assert (landing / "f.csv").read_text() == "id,v\n1,new\n"
    assert _take(landing, archive, "f.csv").status == "new"
    assert [file.path.read_text() for file in archived_files(archive, "2026-11-20")] == ["id,v\n1,new\n"]


def test_each_name_counts_at_its_newest_version_and_identical_bytes_count_once(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    for name, content, arrived in (("a.csv", "id\n1\n", FIRST), ("b.csv", "id\n1\n", LATER), ("a.csv", "id\n2\n", LATEST)):
        land(landing, name, content, arrived)
        _take(landing, archive, name)

    files = archived_files(archive, "2026-11-20")

    assert [(file.original_name, file.arrived_at, file.path.read_text()) for file in files] == [("b.csv", LATER, "id\n1\n"), ("a.csv", LATEST, "id\n2\n")]


def _kernel_copy_gives_up_after_a_while(monkeypatch):
    real = os.copy_file_range
    calls = []

    def partial(source, target, count, *args):
        calls.append(count)
        if len(calls) > 1:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real(source, target, 1000, *args)

    monkeypatch.setattr(os, "copy_file_range", partial)


@pytest.mark.parametrize("kernel", ["gives up part way", "absent"])
def test_the_archive_holds_every_byte_when_the_kernel_cannot_copy(tmp_path, monkeypatch, kernel):
    """copy_file_range fails between some file systems (and older kernels lack it): the copy goes on in chunks."""
    landing, archive = tmp_path / "landing", tmp_path / "archive" / "orders"
    content = "".join(f"{n},{n * 7919 % 104729}\n" for n in range(400_000))  # about 5 MB, several chunks
    land(landing, "big.csv", content, FIRST)
    if kernel == "absent":
        monkeypatch.delattr(os, "copy_file_range")
    else:
        _kernel_copy_gives_up_after_a_while(monkeypatch)

    outcome = _take(landing, archive, "big.csv")

    assert outcome.status == "new"
    assert outcome.read == content.encode()
    assert outcome.file.sha256 == hashlib.sha256(content.encode()).hexdigest()
