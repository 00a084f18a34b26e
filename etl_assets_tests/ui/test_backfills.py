"""Backfills as a user launches them: from the CLI, and through the webserver's GraphQL API with the daemon's run queue."""

from __future__ import annotations

import datetime as dt
import time
from itertools import pairwise

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG, BACKFILL_ID_TAG

from etl_assets.defs.jobs import DATASET_TAG
from etl_assets.defs.sensors import UPLOAD_RUN_PRIORITY
from etl_assets_tests.ui.dagster_dev import CODE_LOCATION, REPOSITORY, land_sample, rows_by_window

ORDERS_TABLE = dg.AssetKey(["snowflake", "analytics", "raw", "orders"])
ORDERS_CHAIN = [dg.AssetKey([stage, "orders"]) for stage in ("uploads", "profiles", "scripts", "transformed")] + [ORDERS_TABLE]
ORDERS_JOB_PARTITIONS = {
    "partitionSetName": "orders_chain_partition_set",
    "repositorySelector": {"repositoryLocationName": CODE_LOCATION, "repositoryName": REPOSITORY},
}
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def daily_keys(first: dt.date, count: int) -> list[str]:
    return [(first + dt.timedelta(days=n)).isoformat() for n in range(count)]


@pytest.mark.integration
def test_a_year_of_daily_windows_is_one_cli_run(cli):
    keys = daily_keys(dt.date(2025, 12, 1), 365)
    land_sample(cli.home, "orders", "orders_day1.csv", dt.date.fromisoformat(keys[0]))
    land_sample(cli.home, "orders", "orders_day2.csv", dt.date.fromisoformat(keys[-1]))

    result = cli.run(
        "asset", "materialize", "-m", "etl_assets.definitions", "--select", "group:orders",
        "--partition-range", f"{keys[0]}...{keys[-1]}", command="dagster",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(cli.home / "dagster")) as instance:
        [run] = instance.get_runs()
        materialized = instance.get_materialized_partitions(ORDERS_TABLE)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert (run.tags[ASSET_PARTITION_RANGE_START_TAG], run.tags[ASSET_PARTITION_RANGE_END_TAG]) == (keys[0], keys[-1])
    assert materialized == set(keys), "every window of the year, empty or not, has its outcome recorded"
    # 8 orders then 6, each with one duplicate id; eve@example fails the email rule and is quarantined
    assert rows_by_window(cli.home) == {keys[0]: 6, keys[-1]: 5}


@pytest.mark.integration
def test_backfills_launched_through_graphql_are_one_run_each_and_take_turns_with_a_datasets_runs(dagster_dev_server):
    server = dagster_dev_server
    summer, november = daily_keys(dt.date(2026, 6, 1), 122), daily_keys(dt.date(2026, 11, 1), 30)
    land_sample(server.home, "orders", "orders_day1.csv", dt.date(2026, 9, 2))
    land_sample(server.home, "orders", "orders_day2.csv", dt.date(2026, 11, 15))

    # what the asset graph's "Materialize..." backfill sends, left to the daemon: one run over 122 windows
    asset_backfill = server.launch_backfill({"assetSelection": [{"path": key.path} for key in ORDERS_CHAIN], "partitionNames": summer})
    with server.instance() as instance:
        asset_run_ids = _backfill_runs(instance, asset_backfill["backfillId"])
        _wait_until_dequeued(instance, asset_run_ids)
        # while it runs, a run of the dataset's job by hand and the job's own backfill; the asset backfill's run has
        # no job tag, so only the dataset's pool can hold them back until it ends
        by_hand = server.client().submit_job_execution(
            "orders_chain", repository_location_name=CODE_LOCATION, repository_name=REPOSITORY, tags={"dagster/partition": "2026-11-20"}
        )
        job_backfill = server.launch_backfill({"selector": ORDERS_JOB_PARTITIONS, "partitionNames": november})
        job_run = _wait_until_finished(instance, _backfill_runs(instance, job_backfill["backfillId"]))
        asset_run = _wait_until_finished(instance, asset_run_ids)
        hand_run = _wait_until_finished(instance, [by_hand])
        for backfill in (asset_backfill, job_backfill):
            assert server.wait_for_backfill(backfill["backfillId"]) == "COMPLETED_SUCCESS"
        for records, keys in ((asset_run, summer), (job_run, november)):
            [run] = [record.dagster_run for record in records.values()]
            assert run.status == dg.DagsterRunStatus.SUCCESS
            assert (run.tags[ASSET_PARTITION_RANGE_START_TAG], run.tags[ASSET_PARTITION_RANGE_END_TAG]) == (keys[0], keys[-1])
        assert DATASET_TAG not in next(iter(asset_run.values())).dagster_run.tags
        [asset_record] = asset_run.values()
        assert hand_run[by_hand].dagster_run.status == dg.DagsterRunStatus.SUCCESS
        assert hand_run[by_hand].create_timestamp.timestamp() < asset_record.end_time, "the run by hand was queued while the backfill ran"
        in_start_order = sorted([asset_record, *job_run.values(), *hand_run.values()], key=lambda record: record.start_time)
        for earlier, later in pairwise(in_start_order):
            assert earlier.end_time <= later.start_time, "two runs of one dataset overlapped despite its pool"
        assert len(instance.get_runs(dg.RunsFilter(tags={BACKFILL_ID_TAG: job_backfill["backfillId"]}))) == 1
        assert len(instance.get_runs(dg.RunsFilter(tags={BACKFILL_ID_TAG: asset_backfill["backfillId"]}))) == 1
        assert set(summer + november) <= instance.get_materialized_partitions(ORDERS_TABLE)
    rows = rows_by_window(server.home)
    assert (rows["2026-09-02"], rows["2026-11-15"]) == (6, 5)
    assert not {key for key in summer + november if key in rows} - {"2026-09-02", "2026-11-15"}


@pytest.mark.integration
def test_a_multi_run_backfill_takes_turns_per_dataset_and_an_upload_run_goes_ahead_of_it(dagster_dev_server):
    server = dagster_dev_server
    server.wait_until_sensor_may_tick("orders_uploads")
    # Submitted by the webserver at once, a job backfill is one run per window (the daemon would make it one ranged run)
    backfill = server.launch_backfill({"selector": ORDERS_JOB_PARTITIONS, "partitionNames": daily_keys(dt.date(2026, 8, 1), 5), "forceSynchronousSubmission": True})
    backfill_runs = backfill["launchedRunIds"]
    assert len(backfill_runs) == 5

    land_sample(server.home, "orders", "orders_day3.csv", dt.date(2026, 8, 20))
    server.start_sensor("orders_uploads")
    try:
        with server.instance() as instance:
            upload_run = _wait_for_sensor_run(instance, "orders_uploads")
            queued_behind = [r.run_id for r in instance.get_runs(dg.RunsFilter(run_ids=backfill_runs, statuses=[dg.DagsterRunStatus.QUEUED]))]
            assert len(queued_behind) >= 2, "the backfill should still have runs queued when the upload's run is requested"
            # the control: a run launched by hand (the job's tags, no priority) waits behind the backfill's runs
            by_hand = server.client().submit_job_execution(
                "orders_chain", repository_location_name=CODE_LOCATION, repository_name=REPOSITORY, tags={"dagster/partition": "2026-08-21"}
            )
            records = _wait_until_finished(instance, [*backfill_runs, upload_run.run_id, by_hand])
    finally:
        server.stop_sensors()

    assert upload_run.tags[DATASET_TAG] == "orders" and upload_run.tags["dagster/priority"] == str(UPLOAD_RUN_PRIORITY)
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records.values())
    in_start_order = sorted(records.values(), key=lambda r: r.start_time)
    for earlier, later in pairwise(in_start_order):
        assert earlier.end_time <= later.start_time, "two runs of one dataset overlapped despite the tag limit"
    upload_start = records[upload_run.run_id].start_time
    started_after = [run_id for run_id in queued_behind if records[run_id].start_time > upload_start]
    # the queue may already have picked the next backfill run when the upload's run arrived; never more than that
    assert len(started_after) >= len(queued_behind) - 1, "the upload's run waited behind the backfill's queued runs"
    assert upload_start < max(records[run_id].start_time for run_id in backfill_runs)
    assert records[by_hand].start_time > max(records[run_id].start_time for run_id in backfill_runs)


def _backfill_runs(instance: dg.DagsterInstance, backfill_id: str, timeout: float = 120) -> list[str]:
    """The ids of the runs the daemon has submitted for a backfill, once there are any (it looks every 30 s)."""
    deadline = time.monotonic() + timeout
    while not (runs := instance.get_runs(dg.RunsFilter(tags={BACKFILL_ID_TAG: backfill_id}))):
        assert time.monotonic() < deadline, f"backfill {backfill_id} submitted no run in {timeout:g} s"
        time.sleep(1)
    return [run.run_id for run in runs]


def _wait_until_dequeued(instance: dg.DagsterInstance, run_ids: list[str], timeout: float = 120) -> None:
    """Until the queue has let the runs go (a run is NOT_STARTED before it is QUEUED, then STARTING)."""
    waiting = {dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED}
    deadline = time.monotonic() + timeout
    while any(run.status in waiting for run in instance.get_runs(dg.RunsFilter(run_ids=run_ids))):
        assert time.monotonic() < deadline, f"runs {run_ids} still waiting to start after {timeout:g} s"
        time.sleep(0.5)


def _wait_for_sensor_run(instance: dg.DagsterInstance, sensor: str, timeout: float = 60) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout
    while not (runs := instance.get_runs(dg.RunsFilter(tags={"dagster/sensor_name": sensor}))):
        assert time.monotonic() < deadline, f"{sensor} requested no run in {timeout:g} s"
        time.sleep(0.5)
    return runs[0]


def _wait_until_finished(instance: dg.DagsterInstance, run_ids: list[str], timeout: float = 180) -> dict[str, dg.RunRecord]:
    deadline = time.monotonic() + timeout
    while True:
        records = {r.dagster_run.run_id: r for r in instance.get_run_records(dg.RunsFilter(run_ids=run_ids))}
        if all(r.dagster_run.status in FINISHED for r in records.values()):
            return records
        assert time.monotonic() < deadline, f"runs still going after {timeout:g} s: {[r.dagster_run.status.value for r in records.values()]}"
        time.sleep(1)
