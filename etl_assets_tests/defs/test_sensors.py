"""The upload sensor requests exactly the windows new files belong to, with deterministic run keys."""

from __future__ import annotations

import datetime as dt
import json
import os

import dagster as dg

from etl_assets.config.loader import load_config
from etl_assets.defs import build_definitions

from .conftest import project_with


def evaluate(chain_project, cursor: str | None = None) -> dg.SensorResult:
    defs = build_definitions(chain_project.config)
    sensor = defs.resolve_sensor_def("orders_uploads")
    resources = {"landing_zones": defs.resources["landing_zones"], "project": defs.resources["project"]}
    with dg.DagsterInstance.ephemeral() as instance, dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=resources) as context:
        return sensor(context)


def test_requests_one_run_per_window_with_new_files(chain_project):
    chain_project.land("orders", "orders_day1.csv", dt.datetime(2026, 11, 19, 8, tzinfo=dt.UTC))
    chain_project.land("orders", "orders_day2.csv", dt.datetime(2026, 11, 19, 17, tzinfo=dt.UTC))
    chain_project.land("orders", "orders_day3.csv", dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC))
    result = evaluate(chain_project)
    assert sorted(r.partition_key for r in result.run_requests) == ["2026-11-19", "2026-11-20"]
    assert len(json.loads(result.cursor)["seen"]) == 3


def test_same_files_give_the_same_run_keys_and_nothing_new_is_requested(chain_project):
    chain_project.land("orders", "orders_day1.csv", dt.datetime(2026, 11, 19, 8, tzinfo=dt.UTC))
    first = evaluate(chain_project)
    again_from_scratch = evaluate(chain_project)
    assert [r.run_key for r in first.run_requests] == [r.run_key for r in again_from_scratch.run_requests]
    assert evaluate(chain_project, cursor=first.cursor).run_requests == []


def test_a_new_file_in_a_seen_window_requests_that_window_again(chain_project):
    chain_project.land("orders", "orders_day1.csv", dt.datetime(2026, 11, 19, 8, tzinfo=dt.UTC))
    first = evaluate(chain_project)
    chain_project.land("orders", "orders_day2.csv", dt.datetime(2026, 11, 19, 9, tzinfo=dt.UTC))
    second = evaluate(chain_project, cursor=first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2026-11-19"]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key


def test_files_before_the_first_window_are_not_requested(chain_project):
    chain_project.land("orders", "orders_day1.csv", dt.datetime(2025, 6, 1, 8, tzinfo=dt.UTC))
    assert evaluate(chain_project).run_requests == []


def test_files_still_settling_wait_for_a_later_tick_and_the_sensor_says_so(chain_project):
    now = dt.datetime.now(dt.UTC)
    landed = chain_project.land("orders", "orders_day1.csv", now)

    settling = evaluate(chain_project)

    assert settling.run_requests == []
    assert "1 file(s) in orders's landing zone changed less than 10 s ago" in settling.skip_reason.skip_message
    settled_at = (now - dt.timedelta(seconds=11)).timestamp()
    os.utime(landed, (settled_at, settled_at))
    later = evaluate(chain_project, cursor=settling.cursor)
    assert [r.partition_key for r in later.run_requests] == [(now - dt.timedelta(seconds=11)).strftime("%Y-%m-%d")]


def test_a_file_outside_the_partitions_is_requested_once_its_window_exists(chain_project):
    chain_project.land("orders", "orders_day1.csv", dt.datetime(2026, 11, 19, 8, tzinfo=dt.UTC))
    config = chain_project.config_path.read_text()
    chain_project.config_path.write_text(config.replace('start: "2026-01-01"', 'start: "2026-12-01"'))
    before_start = evaluate(chain_project)
    assert before_start.run_requests == []

    chain_project.config_path.write_text(config)
    after = evaluate(chain_project, cursor=before_start.cursor)

    assert [r.partition_key for r in after.run_requests] == ["2026-11-19"]


def _evaluate_dataset(project, name: str, cursor: str | None = None) -> dg.SensorResult:
    defs = build_definitions(load_config(project.config_path))
    sensor = defs.resolve_sensor_def(f"{name}_uploads")
    with dg.DagsterInstance.ephemeral() as instance, dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources={"landing_zones": defs.resources["landing_zones"], "project": defs.resources["project"]}
    ) as context:
        return sensor(context)


def _land(project, name: str, text: str, when: dt.datetime):
    path = project.paths.landing / "events" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


EVENTS_BY_ROW_DATE = """
      events:
        source: {path: "{home}/landing/events", pattern: "*.csv", partition_by: {column: Event Date}}
        load: {table: EVENTS}
"""


def test_a_file_dated_by_its_rows_requests_every_window_its_rows_fall_in_and_is_read_once(tmp_path, monkeypatch):
    project = project_with(tmp_path, monkeypatch, EVENTS_BY_ROW_DATE)
    landed = _land(project, "history.csv", "id,Event Date\n1,2026-11-18\n2,2026-11-20\n3,garbage\n", dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC))

    first = _evaluate_dataset(project, "events")
    assert sorted(r.partition_key for r in first.run_requests) == ["2026-11-18", "2026-11-20"]
    assert json.loads(first.cursor)["row_windows"] == {f"history.csv={landed.stat().st_size}:{int(landed.stat().st_mtime * 1_000_000)}": ["2026-11-18", "2026-11-20"]}

    # The cursor's windows stand for the file while it waits: unreadable now, it is not read again.
    mtime = landed.stat().st_mtime
    landed.write_bytes(b"\x00" * landed.stat().st_size)
    os.utime(landed, (mtime, mtime))
    again = _evaluate_dataset(project, "events", cursor=first.cursor)
    assert again.run_requests == []
    assert json.loads(again.cursor) == json.loads(first.cursor)


def test_the_sensor_skips_a_file_it_cannot_place_and_requests_the_others(tmp_path, monkeypatch):
    project = project_with(
        tmp_path,
        monkeypatch,
        EVENTS_BY_ROW_DATE
        + """
      named:
        source: {path: "{home}/landing/named", pattern: "*.csv", partition_by: {filename: 'events_(?P<date>\\d{8})'}}
        load: {table: NAMED}
""",
    )
    when = dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC)
    _land(project, "no_dates.csv", "id,Event Date\n1,later\n", when)
    _land(project, "good.csv", "id,Event Date\n1,2026-11-19\n", when)
    for name in ("export.csv", "events_20261119.csv"):
        path = project.paths.landing / "named" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("id\n1\n")
        os.utime(path, (when.timestamp(), when.timestamp()))

    by_rows = _evaluate_dataset(project, "events")
    by_name = _evaluate_dataset(project, "named")

    assert [r.partition_key for r in by_rows.run_requests] == ["2026-11-19"]
    assert [r.partition_key for r in by_name.run_requests] == ["2026-11-19"]
    assert list(json.loads(by_name.cursor)["seen"]) == ["events_20261119.csv"]



def test_a_new_version_of_a_file_dated_by_its_rows_also_requests_the_windows_the_old_one_fed(tmp_path, monkeypatch):
    from etl_assets.ingest.upload import ingest_window
    from etl_assets.ingest.windows import window_from_key

    project = project_with(tmp_path, monkeypatch, EVENTS_BY_ROW_DATE)
    events = load_config(project.config_path).datasets["events"]
    _land(project, "history.csv", "id,Event Date\n1,2026-11-18\n2,2026-11-19\n", dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC))
    ingest_window(events, project.paths, window_from_key("2026-11-18", events.partitions))
    # the new version has no row of 18 November left: that window must be rebuilt without the old row
    _land(project, "history.csv", "id,Event Date\n2,2026-11-19\n3,2026-11-20\n", dt.datetime(2026, 11, 22, 8, tzinfo=dt.UTC))

    result = _evaluate_dataset(project, "events")

    assert sorted(r.partition_key for r in result.run_requests) == ["2026-11-18", "2026-11-19", "2026-11-20"]
    rebuilt = ingest_window(events, project.paths, window_from_key("2026-11-18", events.partitions))
    assert rebuilt.row_count == 0


def test_upload_runs_carry_their_dataset_and_a_priority_above_a_backfills_runs(chain_project):
    chain_project.land("orders", "orders_day1.csv", dt.datetime(2026, 11, 19, 8, tzinfo=dt.UTC))
    [request] = evaluate(chain_project).run_requests
    # the run queue's tag limit is per dataset; a backfill's runs have no priority tag, which the queue reads as 0
    assert request.tags["etl_assets/dataset"] == "orders"
    assert int(request.tags["dagster/priority"]) > 0
