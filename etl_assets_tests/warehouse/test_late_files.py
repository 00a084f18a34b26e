"""A merge never puts an older version of a row back over a newer one: late files, reruns and sequence_by."""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.warehouse.errors import PermanentWarehouseError
from etl_assets.warehouse.ledger import LoadLedger
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.model import LoadRequest
from etl_assets.warehouse.reconcile import reconcile_window

pytestmark = pytest.mark.integration

MARCH_1 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
MARCH_2 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
MARCH_3 = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
DATABASE = "LATE"


@pytest.fixture
def schema() -> str:
    return f"S_{uuid.uuid4().hex[:8].upper()}"


def window_file(tmp_path, name: str, rows: list[tuple], arrived: dt.datetime, sequence: list[int] | None = None):
    """A transformed window: id, value and lineage, as the template script writes it."""
    columns = {
        "id": pa.array([row[0] for row in rows], pa.int64()),
        "value": pa.array([row[1] for row in rows], pa.string()),
        "_source_file": pa.array([f"{name}.csv"] * len(rows), pa.string()),
        "_source_row": pa.array(range(2, len(rows) + 2), pa.int64()),
        "_arrived_at": pa.array([arrived] * len(rows), pa.timestamp("us", tz="UTC")),
    }
    if sequence is not None:
        columns["seq"] = pa.array(sequence, pa.int64())
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def merge(connection, schema: str, path, start: dt.datetime, run_id: str, sequence_by: str | None = None):
    request = LoadRequest(
        database=DATABASE, schema=schema, table="EVENTS", strategy="merge", keys=["id"],
        window_key=start.date().isoformat(), window_start=start, window_end=start + dt.timedelta(days=1),
        run_id=run_id, parquet_path=path, dataset="events", sequence_by=sequence_by,
    )  # fmt: skip
    result = load_window(connection, request, LoadLedger(connection, DATABASE, schema))
    return result, reconcile_window(connection, request, ["id"], result)


def table(connection, schema: str) -> list[tuple]:
    sql = f'SELECT "id", "value", "time_window_start" FROM "{DATABASE}"."{schema}"."EVENTS" ORDER BY 1'
    return [(i, v, start.date().isoformat()) for i, v, start in connection.cursor().execute(sql).fetchall()]


def test_a_late_file_rerunning_an_old_window_does_not_revert_a_newer_window(warehouse_connection, schema, tmp_path):
    merge(warehouse_connection, schema, window_file(tmp_path, "a", [(1, "old")], MARCH_1 + dt.timedelta(hours=9)), MARCH_1, "run-1")
    merge(warehouse_connection, schema, window_file(tmp_path, "b", [(1, "NEW")], MARCH_2 + dt.timedelta(hours=9)), MARCH_2, "run-2")
    late = window_file(tmp_path, "a_and_late", [(1, "old"), (2, "late")], MARCH_3 + dt.timedelta(hours=1))

    result, reconciliation = merge(warehouse_connection, schema, late, MARCH_1, "run-3")

    assert table(warehouse_connection, schema) == [(1, "NEW", "2026-03-02"), (2, "late", "2026-03-01")]
    assert (result.rows_inserted, result.rows_updated, result.rows_superseded) == (1, 0, 1)
    assert reconciliation.matches
    assert (reconciliation.expected, reconciliation.found, reconciliation.superseded) == (2, 1, 1)


def test_a_newer_window_takes_a_row_over_and_its_reconciliation_passes(warehouse_connection, schema, tmp_path):
    merge(warehouse_connection, schema, window_file(tmp_path, "a", [(1, "old"), (2, "kept")], MARCH_1), MARCH_1, "run-1")
    result, reconciliation = merge(warehouse_connection, schema, window_file(tmp_path, "b", [(1, "NEW")], MARCH_2), MARCH_2, "run-2")

    assert table(warehouse_connection, schema) == [(1, "NEW", "2026-03-02"), (2, "kept", "2026-03-01")]
    assert result.rows_taken_from == {MARCH_1: 1}
    assert reconciliation.matches and reconciliation.taken_from_newer == {}


def test_within_a_window_the_later_arrival_wins_and_a_rerun_of_the_same_rows_changes_nothing(warehouse_connection, schema, tmp_path):
    later = window_file(tmp_path, "later", [(1, "later")], MARCH_1 + dt.timedelta(hours=10))
    earlier = window_file(tmp_path, "earlier", [(1, "earlier")], MARCH_1 + dt.timedelta(hours=8))
    merge(warehouse_connection, schema, later, MARCH_1, "run-1")

    result, reconciliation = merge(warehouse_connection, schema, earlier, MARCH_1, "run-2")
    assert table(warehouse_connection, schema) == [(1, "later", "2026-03-01")]
    assert result.rows_superseded == 1 and reconciliation.matches

    result, reconciliation = merge(warehouse_connection, schema, later, MARCH_1, "run-3")
    assert (result.rows_updated, result.rows_superseded) == (1, 0) and reconciliation.matches


def test_sequence_by_decides_over_the_window_and_a_row_taken_from_a_newer_window_fails_reconciliation(
    warehouse_connection, schema, tmp_path
):
    newer_window = window_file(tmp_path, "b", [(1, "seq 5"), (2, "seq 9")], MARCH_2, sequence=[5, 9])
    merge(warehouse_connection, schema, newer_window, MARCH_2, "run-1", sequence_by="seq")
    late = window_file(tmp_path, "a", [(1, "seq 7"), (2, "seq 3")], MARCH_3, sequence=[7, 3])

    result, reconciliation = merge(warehouse_connection, schema, late, MARCH_1, "run-2", sequence_by="seq")

    assert table(warehouse_connection, schema) == [(1, "seq 7", "2026-03-01"), (2, "seq 9", "2026-03-02")]
    assert (result.rows_updated, result.rows_superseded) == (1, 1)
    assert not reconciliation.matches
    assert reconciliation.taken_from_newer == {"2026-03-02 00:00": 1}


def test_a_sequence_by_column_missing_from_the_rows_is_refused_and_changes_nothing(warehouse_connection, schema, tmp_path):
    merge(warehouse_connection, schema, window_file(tmp_path, "a", [(1, "kept")], MARCH_1), MARCH_1, "run-1")
    with pytest.raises(PermanentWarehouseError, match="load.sequence_by 'seq' of EVENTS is not a column"):
        merge(warehouse_connection, schema, window_file(tmp_path, "b", [(1, "new")], MARCH_2), MARCH_2, "run-2", "seq")
    assert table(warehouse_connection, schema) == [(1, "kept", "2026-03-01")]
