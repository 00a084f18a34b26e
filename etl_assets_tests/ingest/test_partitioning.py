"""Filename partitioning runs the pattern in RE2: no file name can make it hang, and dates read as before."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest

from etl_assets.config.models import PartitionsConfig, SourceConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.landing import LandedFile
from etl_assets.ingest.partitioning import partition_key_for, partition_keys_for

ARRIVED = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)


def _file(name: str) -> LandedFile:
    return LandedFile(path=None, name=name, size=1, arrived_at=ARRIVED)


def _by_filename(pattern: str) -> SourceConfig:
    return SourceConfig(path="landing", partition_by={"filename": pattern})


def test_a_pattern_that_backtracks_exponentially_in_python_runs_in_linear_time():
    source = _by_filename(r"(?P<date>(a+)+b)")

    started = time.perf_counter()
    with pytest.raises(IngestError, match=r"'a{32}' does not match the partition_by filename pattern"):
        partition_key_for(_file("a" * 32), source, PartitionsConfig())

    # Python's backtracking takes hours on these 32 characters; RE2 takes microseconds
    assert time.perf_counter() - started < 10


def test_unnamed_groups_are_allowed_and_only_the_date_group_counts():
    source = _by_filename(r"orders_(\d+)_(?P<date>\d{8})(\.csv|\.tsv)")
    names = ["orders_7_20260115.csv", "orders_12_20260116.tsv"]
    assert partition_keys_for([_file(name) for name in names], source, PartitionsConfig()) == ["2026-01-15", "2026-01-16"]


def test_names_are_searched_and_both_date_spellings_read():
    source = _by_filename(r"orders_(?P<date>[0-9T:-]+)\.csv")
    names = ["orders_2026-01-15.csv", "old_orders_20260116.csv", "orders_2026-01-17T23:30.csv"]

    keys = partition_keys_for([_file(name) for name in names], source, PartitionsConfig())

    assert keys == ["2026-01-15", "2026-01-16", "2026-01-17"]
    assert partition_key_for(_file(names[1]), source, PartitionsConfig()) == "2026-01-16"


def test_a_date_group_in_an_alternative_that_did_not_match_is_no_date():
    source = _by_filename(r"daily_(?P<date>\d{8})|(?P<other>weekly_\d+)")

    assert partition_key_for(_file("daily_20260115.csv"), source, PartitionsConfig()) == "2026-01-15"
    with pytest.raises(IngestError, match=r"'weekly_3\.csv' does not match"):
        partition_key_for(_file("weekly_3.csv"), source, PartitionsConfig())


def test_names_that_are_not_utf8_are_matched_as_bytes_beside_the_others():
    undecodable = os.fsdecode(b"caf\xe9_20260115.csv")
    source = _by_filename(r"^caf._(?P<date>\d{8})")

    keys = partition_keys_for([_file("café_20260116.csv"), _file(undecodable)], source, PartitionsConfig())

    assert keys == ["2026-01-16", "2026-01-15"]


def test_a_captured_text_that_is_not_a_date_is_explained():
    with pytest.raises(IngestError, match=r"'orders_2026\.csv': '2026' is not a date"):
        partition_keys_for([_file("orders_20260115.csv"), _file("orders_2026.csv")], _by_filename(r"_(?P<date>\d+)"), PartitionsConfig())


def test_arrival_partitioning_of_many_files_keeps_their_order():
    files = [LandedFile(None, f"{day}.csv", 1, datetime(2026, 1, day, 12, tzinfo=UTC)) for day in (3, 1, 2)]

    assert partition_keys_for(files, SourceConfig(path="landing"), PartitionsConfig()) == [
        "2026-01-03", "2026-01-01", "2026-01-02"
    ]
    assert partition_keys_for([], _by_filename(r"(?P<date>\d+)"), PartitionsConfig()) == []
