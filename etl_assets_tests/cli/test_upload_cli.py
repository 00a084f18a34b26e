"""`etl-assets upload` refuses what would never load, says when a file will be taken, and each version counts once."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re

import pytest

from etl_assets.config.loader import load_config
from etl_assets.ingest.upload import ingest_window
from etl_assets.ingest.windows import window_for
from etl_assets.paths import ProjectPaths
from etl_assets_tests.cli.conftest import REPO
from etl_assets_tests.project_config import write_project_config

pytestmark = pytest.mark.integration

SAMPLE = REPO / "sample_data/orders/orders_day1.csv"


def _config(cli, tmp_path):
    """A passthrough dataset by arrival that settles at once, and one dated by its file names."""
    path = tmp_path / "etl_config.yaml"
    write_project_config(
        path,
        f"""
              events:
                source: {{path: "{cli.home}/landing/events", pattern: "*.csv", format: csv, settle_seconds: 0}}
                load: {{table: EVENTS, strategy: replace_window}}
              dated:
                source: {{path: "{cli.home}/landing/dated", pattern: "*.csv", partition_by: {{filename: 'events_(?P<date>\\d{{8}})\\.csv'}}}}
                load: {{table: DATED}}
              slow:
                source: {{path: "{cli.home}/landing/slow", pattern: "*.csv", settle_seconds: 3600}}
                load: {{table: SLOW}}
        """,
    )
    cli.env["ETL_ASSETS_CONFIG"] = str(path)


def _landed(cli) -> list[str]:
    return sorted(path.relative_to(cli.home / "landing").as_posix() for path in (cli.home / "landing").rglob("*") if path.is_file())


def _refused(result) -> str:
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: Not uploaded: ")
    return line


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (".hidden.csv", "'.hidden.csv' would never be read by dataset 'orders' because a name starting with a dot marks a hidden file"),
        ("data.csv.part", "'data.csv.part' would never be read by dataset 'orders' because a name ending in .part marks a file still being written"),
        ("orders.txt", "'orders.txt' would never be read by dataset 'orders' because the dataset reads only names matching '*.csv'"),
    ],
)
def test_a_name_the_landing_zone_never_reads_is_refused_and_nothing_is_copied(cli, tmp_path, name, why):
    source = tmp_path / name
    source.write_bytes(SAMPLE.read_bytes())

    result = cli.run("upload", str(source), "--dataset", "orders")

    assert why in _refused(result)
    assert _landed(cli) == []


def test_a_file_whose_window_cannot_be_known_is_refused(cli, tmp_path):
    _config(cli, tmp_path)
    undated, early = tmp_path / "export.csv", tmp_path / "events_20251231.csv"
    for source in (undated, early):
        source.write_text("id\n1\n")

    undated_result = cli.run("upload", str(undated), "--dataset", "dated")
    early_result = cli.run("upload", str(early), "--dataset", "dated")

    assert "'export.csv' does not match the partition_by filename pattern" in _refused(undated_result)
    assert "'events_20251231.csv' belongs to window 2025-12-31, before dataset 'dated' starts at 2026-01-01" in _refused(early_result)
    assert _landed(cli) == []
    dated = tmp_path / "events_20261120.csv"
    dated.write_text("id\n1\n")
    accepted = cli.run("upload", str(dated), "--dataset", "dated")
    assert accepted.returncode == 0, accepted.stderr
    assert "(window 2026-11-20)" in accepted.stdout


def test_upload_says_when_the_file_is_taken(cli):
    result = cli.run("upload", str(SAMPLE), "--dataset", "orders")

    assert result.returncode == 0, result.stderr
    landed = cli.home / "landing/orders/orders_day1.csv"
    assert landed.read_bytes() == SAMPLE.read_bytes()
    ready_at = dt.datetime.fromtimestamp(landed.stat().st_mtime, dt.UTC) + dt.timedelta(seconds=10)
    assert f"it is taken from {ready_at:%H:%M:%S} UTC, once unchanged for 10 s (source.settle_seconds)" in result.stdout


def test_status_shows_files_still_settling_then_waiting(cli, tmp_path):
    _config(cli, tmp_path)
    assert cli.run("upload", str(SAMPLE), "--dataset", "slow").returncode == 0

    settling = cli.run("status", "--dataset", "slow").stdout
    landed = cli.home / "landing/slow/orders_day1.csv"
    ninety_minutes_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=90)).timestamp()
    os.utime(landed, (ninety_minutes_ago, ninety_minutes_ago))
    waiting = cli.run("status", "--dataset", "slow").stdout

    assert "  waiting in landing: 0 files\n  still settling in landing: 1 file (taken once unchanged for 3600 s)\n" in settling
    assert "  waiting in landing: 1 file, oldest 90 min ago\n  still settling in landing: 0 files " in waiting


def test_a_name_still_waiting_in_landing_is_refused_rather_than_landed_beside_it(cli, tmp_path):
    first = cli.run("upload", str(SAMPLE), "--dataset", "orders")
    assert first.returncode == 0, first.stderr
    new_version = tmp_path / SAMPLE.name
    new_version.write_bytes((REPO / "sample_data/orders/orders_day2.csv").read_bytes())

    again = cli.run("upload", str(new_version), "--dataset", "orders")

    assert f"'orders_day1.csv' is already waiting in {cli.home / 'landing/orders'} for dataset 'orders'" in _refused(again)
    assert _landed(cli) == ["orders/orders_day1.csv"]
    assert (cli.home / "landing/orders/orders_day1.csv").read_bytes() == SAMPLE.read_bytes()


def _materialize(cli, *partition: str) -> None:
    result = cli.run("asset", "materialize", "-m", "etl_assets.definitions", "--select", "group:events", *partition, command="dagster")
    assert result.returncode == 0, result.stderr[-3000:]


def _upload(cli, source) -> str:
    result = cli.run("upload", str(source), "--dataset", "events")
    assert result.returncode == 0, result.stderr
    assert "it is taken now" in result.stdout
    return re.search(r"\(window (\S+)\)", result.stdout)[1]


def _rows(cli) -> list[tuple[str, str, str]]:
    result = cli.run(
        "warehouse", "sql", 'SELECT "time_window_start", "id", "value" FROM "ANALYTICS"."RAW"."EVENTS" ORDER BY 1, 2', "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    return [(row["time_window_start"][:10], str(row["id"]), row["value"]) for row in json.loads(result.stdout)]


def test_the_same_file_on_a_second_day_loads_there_and_a_new_version_replaces_the_old(cli, tmp_path):
    _config(cli, tmp_path)
    first, second = tmp_path / "v1" / "f.csv", tmp_path / "v2" / "f.csv"
    for path, prefix in ((first, "a"), (second, "b")):
        path.parent.mkdir()
        path.write_text("".join(["id,value\n"] + [f"{i},{prefix}{i}\n" for i in (1, 2, 3)]))
    events = load_config(tmp_path / "etl_config.yaml").datasets["events"]
    yesterday = window_for(dt.datetime.now(dt.UTC) - dt.timedelta(days=1), events.partitions)
    landed = cli.home / "landing/events/f.csv"
    landed.parent.mkdir(parents=True)
    landed.write_bytes(first.read_bytes())
    os.utime(landed, (yesterday.start.timestamp() + 3600, yesterday.start.timestamp() + 3600))
    ingest_window(events, ProjectPaths(cli.home), yesterday)

    today = _upload(cli, first)
    _materialize(cli, "--partition-range", f"{yesterday.key}...{today}")
    same_bytes = _rows(cli)
    assert _upload(cli, second) == today
    _materialize(cli, "--partition", today)

    a_rows = [(day, str(i), f"a{i}") for day in (yesterday.key, today) for i in (1, 2, 3)]
    assert same_bytes == a_rows, "identical bytes on a second day load in that day's window"
    assert _rows(cli) == a_rows[:3] + [(today, str(i), f"b{i}") for i in (1, 2, 3)], "the new version replaces the old in its window"
    assert len(list((cli.home / "archive/events" / today).glob("*.csv"))) == 2, "both versions stay archived"


def test_a_directory_a_link_out_of_the_tree_and_names_that_leave_landing_are_refused(cli, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    outside = tmp_path / "secrets.csv"
    outside.write_text("id\n1\n")
    link = REPO / f".link-{os.getpid()}.csv"
    link.symlink_to(outside)
    try:
        linked = cli.run("upload", str(link), "--dataset", "orders")
    finally:
        link.unlink()

    assert "is a directory; upload its files one at a time" in _refused(cli.run("upload", str(folder), "--dataset", "orders"))
    assert f"is a link to {outside}, outside the working tree" in _refused(linked)
    for name in ("../orders.csv", "a/b.csv", "..csv"):
        assert f"{name!r} is not a plain file name" in _refused(cli.run("upload", str(SAMPLE), "--dataset", "orders", "--name", name))
    assert _landed(cli) == []


def test_a_file_that_does_not_read_in_the_datasets_format_is_refused_before_it_lands(cli, tmp_path):
    binary = tmp_path / "orders_binary.csv"
    binary.write_bytes(bytes(range(256)) * 64)
    truncated = tmp_path / "orders_cut.csv.gz"
    truncated.write_bytes(gzip.compress(SAMPLE.read_bytes())[:-20])
    _config(cli, tmp_path)

    refused_binary = _refused(cli.run("upload", str(binary), "--dataset", "events"))
    refused_truncated = _refused(cli.run("upload", str(truncated), "--dataset", "events", "--name", "cut.csv"))

    assert "'orders_binary.csv' is not text in any encoding we recognise" in refused_binary
    assert "truncated" in refused_truncated
    assert _landed(cli) == []


def test_a_file_dated_by_its_rows_lands_and_names_every_window_it_feeds(cli, tmp_path):
    config = tmp_path / "etl_config.yaml"
    write_project_config(
        config,
        f"""
              history:
                source: {{path: "{cli.home}/landing/history", pattern: "*.csv*", partition_by: {{column: Day}}}}
                load: {{table: HISTORY}}
        """,
    )
    cli.env["ETL_ASSETS_CONFIG"] = str(config)
    source = tmp_path / "history.csv.gz"
    source.write_bytes(gzip.compress(b"id,Day\n1,2026-11-02\n2,2026-11-01\n3,2026-11-02\n"))

    result = cli.run("upload", str(source), "--dataset", "history", "--name", "renamed.csv.gz")

    assert result.returncode == 0, result.stderr
    assert "(2 windows: 2026-11-01, 2026-11-02)" in result.stdout
    assert "--partition-range 2026-11-01...2026-11-02" in result.stdout
    assert _landed(cli) == ["history/renamed.csv.gz"]
