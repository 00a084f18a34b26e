from datetime import UTC, datetime, timedelta

import pytest

from etl_assets.config.models import PartitionsConfig, SourceConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.landing import LandedFile, LocalLandingZone, ignored_because
from etl_assets.ingest.partitioning import partition_key_for
from etl_assets.ingest.zones import landing_zone_for

from .helpers import land

MORNING = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
EVENING = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)


def test_lists_complete_matching_files_in_arrival_order(tmp_path):
    land(tmp_path, "b.csv", "x", MORNING)
    land(tmp_path, "a.csv", "xy", EVENING)
    land(tmp_path, "c.csv", "x", MORNING)
    for ignored in (".hidden.csv", "upload.csv.tmp", "upload.part", "notes.txt"):
        land(tmp_path, ignored, "x", MORNING)
    land(tmp_path / "nested", "deep.csv", "x", MORNING)

    files = LocalLandingZone(tmp_path, "*.csv*", settle_seconds=10).list_files()

    assert [file.name for file in files] == ["b.csv", "c.csv", "a.csv"]
    assert files[2] == LandedFile(tmp_path / "a.csv", "a.csv", 2, EVENING)


def test_a_file_is_ready_only_once_unchanged_for_the_settle_time(tmp_path):
    now = datetime.now(UTC)
    land(tmp_path, "old.csv", "x", now - timedelta(seconds=11))
    land(tmp_path, "fresh.csv", "x", now - timedelta(seconds=9))
    land(tmp_path, "ahead.csv", "x", now + timedelta(hours=1))
    zone = LocalLandingZone(tmp_path, "*.csv", settle_seconds=10)

    scan = zone.scan(now)

    assert [file.name for file in scan.ready] == ["old.csv"]
    assert [file.name for file in scan.settling] == ["fresh.csv", "ahead.csv"]
    assert [file.name for file in zone.scan(now + timedelta(seconds=2)).ready] == ["old.csv", "fresh.csv"]
    assert [file.name for file in zone.list_files()] == ["old.csv"]


def test_the_configured_settle_time_applies_and_a_fresh_file_waits(tmp_path):
    land(tmp_path, "fresh.csv", "x", datetime.now(UTC))
    assert landing_zone_for(SourceConfig(path=str(tmp_path))).list_files() == []
    assert [file.name for file in landing_zone_for(SourceConfig(path=str(tmp_path), settle_seconds=0)).list_files()] == ["fresh.csv"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (".hidden.csv", "hidden file"),
        ("data.csv.part", "ending in .part marks a file still being written"),
        ("data.csv.tmp", "ending in .tmp"),
        ("notes.txt", "only names matching '*.csv'"),
    ],
)
def test_names_the_landing_zone_never_takes_say_why(name, reason):
    assert reason in ignored_because(name, "*.csv").reason
    assert ignored_because("data.csv", "*.csv") is None


def test_missing_landing_folder_is_empty_and_stays_missing(tmp_path):
    assert LocalLandingZone(tmp_path / "absent", "*", settle_seconds=0).list_files() == []
    assert not (tmp_path / "absent").exists()


def _file(name: str, arrived_at: datetime = EVENING) -> LandedFile:
    return LandedFile(path=None, name=name, size=1, arrived_at=arrived_at)


def test_arrival_partitioning_uses_the_arrival_time_in_the_partitions_zone():
    source = SourceConfig(path="landing")
    assert partition_key_for(_file("a.csv"), source, PartitionsConfig()) == "2026-11-20"
    assert partition_key_for(_file("a.csv"), source, PartitionsConfig(timezone="Europe/Paris")) == "2026-11-21"


@pytest.mark.parametrize(
    ("name", "key"),
    [("orders_2026-11-19.csv", "2026-11-19"), ("orders_20261118.csv", "2026-11-18"), ("orders_2026-11-17T23:30.csv", "2026-11-17")],
)
def test_filename_partitioning_reads_the_date_group(name, key):
    source = SourceConfig(path="landing", partition_by={"filename": r"orders_(?P<date>[0-9T:-]+)\.csv"})
    assert partition_key_for(_file(name), source, PartitionsConfig(timezone="Europe/Paris")) == key


def test_filename_that_does_not_match_names_file_pattern_and_fix():
    source = SourceConfig(path="landing", partition_by={"filename": r"orders_(?P<date>\d{8})\.csv"})
    with pytest.raises(IngestError, match=r"'export\.csv' does not match .*orders_.*rename the file"):
        partition_key_for(_file("export.csv"), source, PartitionsConfig())


def test_filename_date_that_is_not_a_date_is_explained():
    source = SourceConfig(path="landing", partition_by={"filename": r"orders_(?P<date>\d+)\.csv"})
    with pytest.raises(IngestError, match="'2026' is not a date"):
        partition_key_for(_file("orders_2026.csv"), source, PartitionsConfig())
