"""The load step in a real run: ledger rows, checks on the table, key detection, skips and permanent errors."""

from __future__ import annotations

import dagster as dg
import pytest

from etl_assets.defs import build_definitions
from etl_assets.warehouse.skipped_loads import skipped_loads
from etl_assets_tests.defs.test_chain import DAY1, DAY2, run_chain

TABLE_NODE = "snowflake__analytics__raw__orders"


def ledger_rows(connection, run_id: str) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute(
        'SELECT "WINDOW_KEY", "STATUS", "ATTEMPT", "STRATEGY", "ROWS_INSERTED", "ERROR" FROM "ANALYTICS"."RAW"."ETL_ASSETS_LOADS" '
        'WHERE "RUN_ID" = %s ORDER BY "WINDOW_KEY", "ATTEMPT"',
        (run_id,),
    )
    return cursor.fetchall()


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


@pytest.mark.integration
def test_each_window_gets_a_ledger_row_and_the_checks_pass(chain_project, warehouse_home, warehouse_connection):
    chain_project.land("orders", "orders_day1.csv", DAY1)
    chain_project.land("orders", "orders_day2.csv", DAY2)
    instance = dg.DagsterInstance.ephemeral()
    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-20", instance=instance)
    assert result.success
    messages = [entry.user_message for entry in instance.all_logs(result.run_id) if entry.dagster_event is None]
    # a range says how it loads once, not once per window: every log line is a write to the run's event log
    assert [m for m in messages if m.startswith("Loading orders")] == ["Loading orders 2026-11-19 with merge: keys order_id are set in load.keys"]
    assert ledger_rows(warehouse_connection, result.run_id) == [
        ("2026-11-19", "uploaded", 1, "merge", 7, None),
        ("2026-11-20", "uploaded", 1, "merge", 5, None),
    ]
    checks = check_results(result)
    assert checks["reconciliation"].passed
    assert checks["reconciliation"].metadata["failing_windows"].value == "(none)"
    assert checks["column_schema_changes"].passed
    metadata = result.asset_materializations_for_node(TABLE_NODE)[0].metadata
    assert metadata["keys_reason"].value == "keys order_id are set in load.keys"
    assert "order_id" in [c.name for c in metadata["dagster/column_schema"].schema.columns]


@pytest.mark.integration
def test_a_new_column_is_added_and_the_schema_check_warns(chain_project, warehouse_home, warehouse_connection):
    chain_project.land("orders", "orders_day1.csv", DAY1)
    assert run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-19").success
    text = chain_project.config_path.read_text()
    line = next(line for line in text.splitlines() if "order_id: {from: Order ID" in line)
    indent = line[: len(line) - len(line.lstrip())]
    chain_project.config_path.write_text(text.replace(line, f"{line}\n{indent}order_date: {{from: Order Date, type: date}}"))
    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-19")
    assert result.success
    schema_check = check_results(result)["column_schema_changes"]
    assert not schema_check.passed and schema_check.severity == dg.AssetCheckSeverity.WARN
    assert schema_check.metadata["added_columns"].value == "order_date"
    cursor = warehouse_connection.cursor()
    cursor.execute('SELECT COUNT(*), COUNT("order_date") FROM "ANALYTICS"."RAW"."ORDERS"')
    assert cursor.fetchone() == (7, 7)


@pytest.mark.integration
def test_keys_are_detected_when_none_are_configured(chain_project, warehouse_home, warehouse_connection):
    chain_project.land("customers", "customers_day2.csv", DAY1)
    result = run_chain(chain_project, warehouse_home, "customers", "2026-11-19", "2026-11-19")
    assert result.success
    metadata = result.asset_materializations_for_node("snowflake__analytics__raw__customers")[0].metadata
    assert metadata["strategy"].value == "merge"
    assert metadata["keys"].value == "time_window_start, time_window_end, customer_id"
    assert "customer_id is unique" in metadata["keys_reason"].value
    assert run_chain(chain_project, warehouse_home, "customers", "2026-11-19", "2026-11-19").success
    cursor = warehouse_connection.cursor()
    cursor.execute('SELECT COUNT(*) FROM "ANALYTICS"."RAW"."CUSTOMERS"')
    assert cursor.fetchone()[0] == 4


@pytest.mark.integration
def test_without_credentials_the_load_is_skipped_and_upstream_stands(chain_project, warehouse_home):
    text = chain_project.config_path.read_text()
    chain_project.config_path.write_text(text.replace("connection: local", "connection: prod"))
    chain_project.land("orders", "orders_day1.csv", DAY1)
    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-19")
    assert result.success
    assert result.asset_materializations_for_node("transformed__orders")[0].metadata["dagster/row_count"].value == 7
    assert result.asset_materializations_for_node(TABLE_NODE) == [], "a skipped window is not materialized"
    reconciliation = check_results(result)["reconciliation"]
    assert not reconciliation.passed and reconciliation.severity == dg.AssetCheckSeverity.WARN
    (entry,) = skipped_loads(chain_project.paths.warehouse, "orders")
    assert (entry["window_key"], entry["status"], entry["run_id"]) == ("2026-11-19", "skipped", result.run_id)
    assert "no credentials for warehouse connection 'prod'" in entry["error"]


@pytest.mark.integration
def test_a_permanent_error_fails_at_once_without_retries(chain_project, warehouse_home, warehouse_connection):
    text = chain_project.config_path.read_text()
    chain_project.config_path.write_text(text.replace("strategy: merge, keys: [order_id]}", "strategy: merge, keys: [order_id], retry: {attempts: 3, delay_seconds: 0}}"))
    cursor = warehouse_connection.cursor()
    cursor.execute('CREATE TABLE "ANALYTICS"."RAW"."ORDERS" ("order_id" DATE)')
    chain_project.land("orders", "orders_day1.csv", DAY1)
    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-19", raise_on_error=False)
    assert not result.success
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "order_id" in message and "DATE" in message and "NUMBER" in message
    assert [row[1] for row in ledger_rows(warehouse_connection, result.run_id)] == ["failed"]


@pytest.mark.integration
def test_when_a_window_of_a_range_fails_the_windows_after_it_are_recorded_as_not_loaded(chain_project, warehouse_home, warehouse_connection):
    # the range starts its windows' ledger rows together; none may be left pending once the run has failed
    warehouse_connection.cursor().execute('CREATE TABLE "ANALYTICS"."RAW"."ORDERS" ("order_id" DATE)')
    chain_project.land("orders", "orders_day1.csv", DAY1)
    chain_project.land("orders", "orders_day2.csv", DAY2)

    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-20", raise_on_error=False)

    assert not result.success
    (first, second) = ledger_rows(warehouse_connection, result.run_id)
    assert first[:2] == ("2026-11-19", "failed") and "DATE" in first[5]
    assert second[:2] == ("2026-11-20", "failed") and second[5].startswith("Not loaded: an earlier window of its range failed")


def test_the_retry_policy_comes_from_the_config(chain_project):
    text = chain_project.config_path.read_text()
    chain_project.config_path.write_text(text.replace("keys: [order_id]}", "keys: [order_id], retry: {attempts: 4, delay_seconds: 5}}"))
    table = build_definitions(chain_project.config).resolve_assets_def(dg.AssetKey(["snowflake", "analytics", "raw", "orders"]))
    policy = table.op.retry_policy
    assert (policy.max_retries, policy.delay, policy.backoff) == (3, 5, dg.Backoff.EXPONENTIAL)


EMAIL_RULE = r"{rule: regex, column: email, pattern: '^[^@\s]+@[^@\s]+\.[a-z]+$', action: quarantine}"


def quarantine_ledger(connection, run_id: str) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute(
        'SELECT "STATUS", "ROWS_STAGED" FROM "ANALYTICS"."RAW"."ETL_ASSETS_LOADS" WHERE "RUN_ID" = %s AND "TABLE_NAME" = %s',
        (run_id, "ORDERS_QUARANTINE"),
    )
    return cursor.fetchall()


def quarantine_exists(connection) -> bool:
    cursor = connection.cursor()
    cursor.execute(
        "SELECT COUNT(*) FROM ANALYTICS.INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'RAW' AND TABLE_NAME = 'ORDERS_QUARANTINE'"
    )
    return cursor.fetchone()[0] == 1


@pytest.mark.integration
def test_an_empty_quarantine_with_nothing_to_clear_is_not_loaded(chain_project, warehouse_home, warehouse_connection):
    warehouse_connection.cursor().execute('DROP TABLE IF EXISTS "ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
    from etl_assets_tests.defs.test_quality_gate import add_rules  # that module imports this one

    add_rules(chain_project, EMAIL_RULE.replace(r"\.[a-z]+$", ""))
    chain_project.land("orders", "orders_day1.csv", DAY1)
    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-19")
    assert result.success
    assert quarantine_ledger(warehouse_connection, result.run_id) == []
    assert not quarantine_exists(warehouse_connection), "no transaction ran for the empty quarantine"
    assert ledger_rows(warehouse_connection, result.run_id)[0][:2] == ("2026-11-19", "uploaded")


def quarantine_day1_then_relax_the_rule(chain_project, warehouse_home, cursor) -> None:
    """Day 1 loaded with one row quarantined by EMAIL_RULE, then the rule relaxed so a rerun quarantines nothing."""
    cursor.execute('DROP TABLE IF EXISTS "ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
    from etl_assets_tests.defs.test_quality_gate import add_rules  # that module imports this one

    add_rules(chain_project, EMAIL_RULE)
    chain_project.land("orders", "orders_day1.csv", DAY1)
    assert run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-19").success
    cursor.execute('SELECT COUNT(*) FROM "ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
    assert cursor.fetchone()[0] == 1
    chain_project.config_path.write_text(chain_project.config_path.read_text().replace(r"\.[a-z]+$", ""))


@pytest.mark.integration
def test_a_rerun_that_quarantines_nothing_clears_the_windows_quarantine(chain_project, warehouse_home, warehouse_connection):
    cursor = warehouse_connection.cursor()
    quarantine_day1_then_relax_the_rule(chain_project, warehouse_home, cursor)

    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-19")
    assert result.success
    assert quarantine_ledger(warehouse_connection, result.run_id) == [("uploaded", 0)]
    cursor.execute('SELECT COUNT(*) FROM "ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
    assert cursor.fetchone()[0] == 0


@pytest.mark.integration
def test_a_range_rerun_clears_only_the_quarantines_an_earlier_run_left(chain_project, warehouse_home, warehouse_connection):
    # a range asks once which of its windows hold quarantined rows, instead of once per window
    cursor = warehouse_connection.cursor()
    quarantine_day1_then_relax_the_rule(chain_project, warehouse_home, cursor)
    chain_project.land("orders", "orders_day2.csv", DAY2)

    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-20")

    assert result.success
    assert quarantine_ledger(warehouse_connection, result.run_id) == [("uploaded", 0)], "day 1's is cleared, day 2 had none"
    cursor.execute('SELECT COUNT(*) FROM "ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
    assert cursor.fetchone()[0] == 0
    # day 1 twice: its rows, and its quarantine cleared
    windows = [row[:2] for row in ledger_rows(warehouse_connection, result.run_id)]
    assert windows == [("2026-11-19", "uploaded"), ("2026-11-19", "uploaded"), ("2026-11-20", "uploaded")]
