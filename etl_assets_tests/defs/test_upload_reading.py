"""What a file says is what loads: renamed reserved headers reach Snowflake, and rejects show on the upload asset."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import pytest

from etl_assets.defs.metadata import upload_log_lines
from etl_assets.ingest.upload import UploadResult, rejects_path_for, upload_path
from etl_assets_tests.defs.test_chain import DAY1, run_chain

pytestmark = pytest.mark.integration

WINDOW = "2026-11-19"


def land_customers(chain_project, content: bytes | str, name: str = "customers.csv") -> None:
    landing = chain_project.paths.landing / "customers"
    landing.mkdir(parents=True, exist_ok=True)
    path = landing / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.utime(path, (DAY1.timestamp(), DAY1.timestamp()))


def upload_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [materialization] = result.asset_materializations_for_node("uploads__customers")
    return {key: value.value for key, value in materialization.metadata.items()}


def rejected_rows_check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == "rejected_rows"]
    return evaluation


def test_a_source_time_window_start_column_loads_under_its_new_name(chain_project, warehouse_home, warehouse_connection):
    content = "Customer ID,time_window_start,City\n1,2020-01-01,Zürich\n2,2020-02-01,Besançon\n3,2020-03-01,Köln\n"
    land_customers(chain_project, content.encode("cp1252"))

    result = run_chain(chain_project, warehouse_home, "customers", WINDOW, WINDOW)

    assert result.success
    cursor = warehouse_connection.cursor()
    cursor.execute(
        'SELECT "customer_id", "source_time_window_start", "city", "time_window_start" '
        'FROM "ANALYTICS"."RAW"."CUSTOMERS" ORDER BY "customer_id"'
    )
    rows = cursor.fetchall()
    assert [row[:3] for row in rows] == [
        (1, dt.date(2020, 1, 1), "Zürich"),
        (2, dt.date(2020, 2, 1), "Besançon"),
        (3, dt.date(2020, 3, 1), "Köln"),
    ]
    assert {row[3].date() for row in rows} == {dt.date(2026, 11, 19)}, "the window's own column is the pipeline's"
    metadata = upload_metadata(result)
    assert metadata["renamed_columns"] == "time_window_start -> source_time_window_start"
    assert "| 2026-11-19 | customers.csv | 3 | 0 | cp1252 | 0 | time_window_start -> source_time_window_start |" in metadata["file_reads"]
    assert rejected_rows_check(result).passed


def test_short_rows_load_and_rejects_show_as_a_failing_warn_check(chain_project, warehouse_home, warehouse_connection):
    rows = "".join(f"{index},Name {index},fr,2025-01-{index:02d}\n" for index in range(1, 21))
    content = "Customer ID,Full Name,Country,Signup Date\n" + rows + "21,Short\n22,Too,many,fields,here\n"
    land_customers(chain_project, content)

    result = run_chain(chain_project, warehouse_home, "customers", WINDOW, WINDOW)

    assert result.success
    cursor = warehouse_connection.cursor()
    cursor.execute('SELECT "full_name", "country", "signup_date" FROM "ANALYTICS"."RAW"."CUSTOMERS" WHERE "customer_id" = 21')
    assert cursor.fetchall() == [("Short", None, None)]
    cursor.execute('SELECT COUNT(*) FROM "ANALYTICS"."RAW"."CUSTOMERS"')
    assert cursor.fetchone()[0] == 21
    check = rejected_rows_check(result)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["rejected_rows"].value == 1
    assert "| 2026-11-19 | customers.csv | 1 | 21 |" in check.metadata["files"].value
    assert "| 2026-11-19 | customers.csv | 23 | expected 4 fields, found 5 | 22,Too,many,fields,here |" in check.metadata["examples"].value
    assert upload_metadata(result)["short_rows_padded"] == 1


def test_a_window_with_too_many_rejects_fails_with_one_sentence_and_goes_no_further(chain_project, warehouse_home):
    land_customers(chain_project, 'Customer ID,Full Name\n1,"Ann\n2,Bob\n3,Cy,extra\n')

    result = run_chain(chain_project, warehouse_home, "customers", WINDOW, WINDOW, raise_on_error=False)

    assert not result.success
    [failure] = result.get_step_failure_events()
    message = failure.step_failure_data.error.cause.message
    assert "'customers.csv' has 2 unreadable rows (2 of 3 rows of window 2026-11-19, 66.7% > source.max_reject_percent 5%)" in message
    assert "fix the file and upload it again under the same name, or raise source.max_reject_percent." in message
    assert result.get_failed_step_keys() == {"uploads__customers"}
    assert not upload_path(chain_project.paths, "customers", WINDOW).exists()
    kept = rejects_path_for(chain_project.paths, "customers", WINDOW).read_text()
    assert '"line": 2' in kept and '"line": 4' in kept


def test_a_hostile_export_loads_what_it_says_into_the_warehouse(chain_project, warehouse_home, warehouse_connection):
    big = "x" * (4 * 1024 * 1024)
    plain = "".join(f"{index},Name {index}\n" for index in range(10, 40))
    content = f'Customer ID,Full Name\n1,"{big}"\n2,"never closed\n3,after the broken quote\n4,Café €\n{plain}'
    land_customers(chain_project, content.encode("cp1252"))

    result = run_chain(chain_project, warehouse_home, "customers", WINDOW, WINDOW)

    assert result.success
    cursor = warehouse_connection.cursor()
    cursor.execute(
        'SELECT "customer_id", LENGTH("full_name"), "full_name" FROM "ANALYTICS"."RAW"."CUSTOMERS" '
        'WHERE "customer_id" < 10 ORDER BY 1'
    )
    rows = cursor.fetchall()
    assert [(row[0], row[1]) for row in rows] == [(1, len(big)), (3, 22), (4, 6)]
    assert [row[2] for row in rows[1:]] == ["after the broken quote", "Café €"]
    check = rejected_rows_check(result)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert upload_metadata(result)["rejected_rows"] == 1


def test_a_range_logs_its_plain_windows_in_one_line_and_each_window_with_something_to_say_on_its_own():
    def result(key: str, rows: int, rejected: int = 0) -> UploadResult:
        return UploadResult(key, Path(f"{key}.parquet"), rows, [object()], 1, 0, 0, rejected, None, {}, [], [], [])

    lines = upload_log_lines("orders", [result("2026-01-01", 3), result("2026-01-02", 4, rejected=1), result("2026-01-03", 5)])

    assert lines == [
        "orders 2026-01-02: 4 rows from 1 files (1 new, 0 duplicate), 1 rejected; 0 still being written, left in landing for a later run",
        "orders 2 windows, 2026-01-01 to 2026-01-03: 8 rows from 2 files (2 new); none rejected, duplicate or still being written",
    ]
    assert upload_log_lines("orders", [result("2026-01-01", 3)]) == [
        "orders 2026-01-01: 3 rows from 1 files (1 new, 0 duplicate), 0 rejected; 0 still being written, left in landing for a later run"
    ]
