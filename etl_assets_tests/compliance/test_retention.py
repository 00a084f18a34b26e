"""Retention against real loads: three windows loaded by a real chain run into the emulator, two of them expired,
removed from the table, the quarantine table, the lake and the archive, and nothing else touched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import snowflake.connector

from etl_assets.compliance.retention import RetentionError, expire_windows
from etl_assets.config.loader import load_config
from etl_assets.errors import WarehouseError
from etl_assets.paths import ProjectPaths
from etl_assets_tests.defs.conftest import ChainProject, project_with
from etl_assets_tests.defs.test_chain import run_chain

pytestmark = pytest.mark.integration

KEYS = ("2026-11-19", "2026-11-20", "2026-11-21")
SAMPLE_OF = dict(zip(KEYS, ("orders_day1.csv", "orders_day2.csv", "orders_day3.csv"), strict=True))
EXPIRED, KEPT = KEYS[:2], KEYS[2]
# retention_days 10 before this is 2026-11-21 23:59 UTC: 11-20's window (ends 11-21 00:00) has expired, 11-21's
# (ends 11-22 00:00) is inside the retention period by one minute
NOW = dt.datetime(2026, 12, 1, 23, 59, tzinfo=dt.UTC)
# every window has a negative net amount (quarantined); 11-19 also has an email without a top-level domain
RULES = (
    r"quality: [{rule: range, column: net_amount, min: 0, action: quarantine}, "
    r"{rule: regex, column: email, pattern: '^[^@\s]+@[^@\s]+\.[a-z]+$', action: quarantine}]"
)
ORDERS = """
  orders:
    source: {path: "{home}/landing/orders", pattern: "*.csv", format: csv}
    transform:
      columns:
        order_id: {from: Order ID, type: integer}
        email: {from: Email, apply: [trim, lower]}
        status: {from: Status, apply: [trim, lower]}
        gross_amount: {from: Gross Amount, type: "decimal(12,2)"}
        discount: {from: Discount, type: "decimal(12,2)"}
        net_amount: {expr: "gross_amount - discount", type: "decimal(12,2)"}
      deduplicate_on: [order_id]
    RULES
    load: {table: ORDERS, strategy: merge, keys: [order_id]}
    compliance: {retention_days: 10}
"""
LEDGER = '"ANALYTICS"."RAW"."ETL_ASSETS_LOADS"'


def table_by_window(connection, table: str) -> dict[str, list[tuple]]:
    """Every row of the table, whole, grouped by its window's day."""
    cursor = connection.cursor()
    cursor.execute(f'SELECT * FROM "ANALYTICS"."RAW"."{table}"')
    start = [column[0] for column in cursor.description].index("time_window_start")
    grouped: dict[str, list[tuple]] = {}
    for row in cursor.fetchall():
        grouped.setdefault(f"{row[start].astimezone(dt.UTC):%Y-%m-%d}", []).append(tuple(row))
    return {key: sorted(rows, key=repr) for key, rows in grouped.items()}


def files_under(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def ledger(connection) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute(f'SELECT * FROM {LEDGER} ORDER BY "LOAD_ID"')
    return cursor.fetchall()


def everything(project: ChainProject, connection) -> dict:
    return {
        "table": table_by_window(connection, "ORDERS"),
        "quarantine": table_by_window(connection, "ORDERS_QUARANTINE"),
        "lake": files_under(project.paths.lake),
        "archive": files_under(project.paths.archive),
        "ledger": ledger(connection),
    }


@pytest.fixture
def three_windows(tmp_path, monkeypatch, warehouse_home, warehouse_connection) -> Iterator[ChainProject]:
    """Three daily windows of orders loaded for real, each with quarantined rows."""
    cursor = warehouse_connection.cursor()
    for table in ("ORDERS", "ORDERS_QUARANTINE"):
        cursor.execute(f'DROP TABLE IF EXISTS "ANALYTICS"."RAW"."{table}"')
    project = project_with(tmp_path, monkeypatch, ORDERS.replace("RULES", RULES))
    for key, sample in SAMPLE_OF.items():
        project.land("orders", sample, dt.datetime.fromisoformat(key).replace(hour=12, tzinfo=dt.UTC))
    assert run_chain(project, warehouse_home, "orders", KEYS[0], KEYS[-1]).success
    yield project
    for table in ("ORDERS", "ORDERS_QUARANTINE"):
        cursor.execute(f'DROP TABLE IF EXISTS "ANALYTICS"."RAW"."{table}"')


def test_retention_removes_exactly_the_expired_windows_everywhere_and_a_dry_run_nothing(three_windows, warehouse_connection):
    project, connection = three_windows, warehouse_connection
    dataset = project.config.datasets["orders"]
    before = everything(project, connection)
    assert sorted(before["table"]) == list(KEYS) and sorted(before["quarantine"]) == list(KEYS)
    assert all(project.paths.archive.joinpath("orders", key).is_dir() for key in KEYS)

    dry = expire_windows(dataset, project.paths, connection, NOW, "dry-run", dry_run=True)
    assert [window.key for window in dry.windows] == list(EXPIRED)
    assert everything(project, connection) == before, "a dry run changes no row, file or ledger row"
    for window in dry.windows:
        assert window.table_rows == len(before["table"][window.key])
        assert window.quarantine_rows == len(before["quarantine"][window.key]) >= 1
        assert {path.parent.name for path in window.lake_files} >= {"uploads", "profiles", "transformed", "quarantine", "quality"}
        assert window.archived_files and all(path.is_file() for path in (*window.lake_files, *window.archived_files))

    done = expire_windows(dataset, project.paths, connection, NOW, "retention-run")
    assert [(w.key, w.table_rows, w.quarantine_rows, w.lake_files, w.archived_files) for w in done.windows] == [
        (w.key, w.table_rows, w.quarantine_rows, w.lake_files, w.archived_files) for w in dry.windows
    ], "the run removes what the dry run listed"
    after = everything(project, connection)
    assert after["table"] == {KEPT: before["table"][KEPT]}
    assert after["quarantine"] == {KEPT: before["quarantine"][KEPT]}
    gone = {name for name in before["lake"] if name.rsplit("/", 1)[-1].split(".")[0] in EXPIRED}
    assert gone and after["lake"] == {name: data for name, data in before["lake"].items() if name not in gone}
    assert after["archive"] == {name: data for name, data in before["archive"].items() if name.split("/")[1] == KEPT}
    assert not any(project.paths.archive.joinpath("orders", key).exists() for key in EXPIRED)

    cursor = connection.cursor()
    cursor.execute(
        f'SELECT "DATASET", "TABLE_NAME", "WINDOW_KEY", "WINDOW_START", "WINDOW_END", "STATUS", "ROWS_DELETED", "ACTOR", "DETAIL" '
        f'FROM {LEDGER} WHERE "RUN_ID" = %s ORDER BY "WINDOW_KEY"',
        ("retention-run",),
    )
    expected = []
    for window in done.windows:
        detail = (
            f"table {len(before['table'][window.key])} rows, quarantine {len(before['quarantine'][window.key])} rows, "
            f"{len(window.lake_files)} lake files, {len(window.archived_files)} archived files"
        )
        start = dt.datetime.fromisoformat(window.key).replace(tzinfo=dt.UTC)
        expected.append(("orders", "ANALYTICS.RAW.ORDERS", window.key, start, start + dt.timedelta(days=1), "expired",
                         len(before["table"][window.key]), "retention", detail))  # fmt: skip
    assert [tuple(row) for row in cursor.fetchall()] == expected
    assert len(after["ledger"]) == len(before["ledger"]) + len(EXPIRED)

    again = expire_windows(dataset, project.paths, connection, NOW, "second-run")
    assert again.windows == () and again.lines()[-1] == "total: no window has expired"
    assert everything(project, connection) == after, "a second run removes nothing and writes no ledger row"


HOURLY = """
  clicks:
    source: {path: "{home}/landing/clicks"}
    partitions: {cadence: hourly, start: "2026-11-01", timezone: Europe/Paris}
    load: {table: CLICKS_RETENTION_TEST}
    compliance: {retention_days: 1}
  kept_forever:
    source: {path: "{home}/landing/kept_forever"}
    load: {table: KEPT_FOREVER_TEST}
"""


def hand_made_window(paths: ProjectPaths, dataset: str, slug: str) -> list[Path]:
    """An upload, a profile and an archived file of a window, written by hand."""
    made = [paths.lake / dataset / "uploads" / f"{slug}.parquet", paths.lake / dataset / "profiles" / f"{slug}.json",
            paths.archive / dataset / slug / "abc.csv", paths.archive / dataset / slug / "arrivals" / "x.json"]  # fmt: skip
    for path in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return made


def test_an_hourly_window_inside_the_retention_period_by_a_minute_is_kept(tmp_path, monkeypatch, warehouse_connection):
    project = project_with(tmp_path, monkeypatch, HOURLY)
    clicks = project.config.datasets["clicks"]
    # Paris is UTC+1 in November: the 10:00 window is 09:00-10:00 UTC; its slug drops the key's colon
    older, boundary = hand_made_window(project.paths, "clicks", "2026-11-20-0900"), hand_made_window(project.paths, "clicks", "2026-11-20-1000")
    end = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)

    inside = expire_windows(clicks, project.paths, warehouse_connection, end + dt.timedelta(days=1, minutes=-1), "boundary", dry_run=True)
    assert [window.key for window in inside.windows] == ["2026-11-20-09:00"]
    assert (inside.windows[0].window.start, inside.windows[0].window.end) == (end - dt.timedelta(hours=2), end - dt.timedelta(hours=1))

    done = expire_windows(clicks, project.paths, warehouse_connection, end + dt.timedelta(days=1), "boundary")
    assert [window.key for window in done.windows] == ["2026-11-20-09:00"], "a window ending exactly at the cutoff is kept"
    assert not any(path.exists() for path in older) and all(path.exists() for path in boundary)
    assert not project.paths.archive.joinpath("clicks", "2026-11-20-0900").exists()
    assert done.windows[0].detail == "table 0 rows, quarantine 0 rows, 2 lake files, 2 archived files"

    later = expire_windows(clicks, project.paths, warehouse_connection, end + dt.timedelta(days=1, minutes=1), "boundary-2")
    assert [window.key for window in later.windows] == ["2026-11-20-10:00"]
    assert not any(path.exists() for path in boundary)


def test_a_dataset_without_retention_days_is_never_touched(tmp_path, monkeypatch, warehouse_connection):
    project = project_with(tmp_path, monkeypatch, HOURLY)
    made = hand_made_window(project.paths, "kept_forever", "2026-01-02")
    with pytest.raises(RetentionError, match="has no compliance.retention_days"):
        expire_windows(load_config(project.config_path).datasets["kept_forever"], project.paths, warehouse_connection,
                       dt.datetime(2030, 1, 1, tzinfo=dt.UTC), "never")  # fmt: skip
    assert all(path.read_bytes() == b"x" for path in made)


def test_a_warehouse_that_does_not_answer_stops_retention_before_anything_is_removed(tmp_path, monkeypatch, emulator):
    project = project_with(tmp_path, monkeypatch, HOURLY)
    made = hand_made_window(project.paths, "clicks", "2026-11-20-0900")
    gone = snowflake.connector.connect(**emulator.connection_args())
    gone.close()
    with pytest.raises(WarehouseError) as raised:
        expire_windows(project.config.datasets["clicks"], project.paths, gone, dt.datetime(2026, 12, 1, tzinfo=dt.UTC), "unanswered")
    message = str(raised.value)
    assert "Looking for expired windows of clicks" in message and "nothing was changed" in message and len(message.splitlines()) == 1
    assert all(path.read_bytes() == b"x" for path in made), "every file is as it was"
