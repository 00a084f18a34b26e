"""Quality rules in a real run: error rules hold back only their window, quarantine takes rows out before the load."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from etl_assets_tests.defs.test_chain import DAY1, DAY2, run_chain
from etl_assets_tests.defs.test_loading import TABLE_NODE, check_results, ledger_rows

pytestmark = pytest.mark.integration


def add_rules(chain_project, rules: str) -> None:
    """Give the orders dataset these quality rules (flow-style YAML list items)."""
    text = chain_project.config_path.read_text()
    line = next(line for line in text.splitlines() if line.strip().startswith("load: {table: ORDERS"))
    indent = line[: len(line) - len(line.lstrip())]
    chain_project.config_path.write_text(text.replace(line, f"{indent}quality: [{rules}]\n{line}"))


def table_rows(connection, table: str = "ORDERS") -> dict[int, str]:
    cursor = connection.cursor()
    cursor.execute(f'SELECT "order_id", "_run_id" FROM "ANALYTICS"."RAW"."{table}"')
    return dict(cursor.fetchall())


def test_an_error_rule_holds_back_only_its_window_and_leaves_its_rows_as_they_were(chain_project, warehouse_home, warehouse_connection):
    chain_project.land("orders", "orders_day1.csv", DAY1)
    chain_project.land("orders", "orders_day2.csv", DAY2)
    first = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-20")
    before = table_rows(warehouse_connection)
    assert len(before) == 12

    # day 2 has an order with status "lost"
    add_rules(chain_project, "{rule: accepted_values, column: status, values: [paid, shipped, refunded, cancelled]}")
    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-20")
    assert result.success

    checks = check_results(result)
    rule = checks["accepted_values_status"]
    assert not rule.passed and rule.metadata["failing_windows"].value == "2026-11-20"
    assert rule.metadata["failing_count"].value == 1
    assert "orders_day2.csv" in rule.metadata["examples"].value and "lost" in rule.metadata["examples"].value
    gate = checks["quality_gate"]
    assert not gate.passed and gate.metadata["blocked_windows"].value == "2026-11-20"

    materialized = [m.partition for m in result.asset_materializations_for_node(TABLE_NODE)]
    assert materialized == ["2026-11-19"], "only the window that passed is materialized"
    after = table_rows(warehouse_connection)
    day2 = [5008, 5009, 5010, 5011, 5012]
    assert {k: after[k] for k in day2} == {k: before[k] for k in day2}, "the held-back window keeps its rows"
    assert all(after[k] == result.run_id for k in after if k not in day2)
    statuses = {row[0]: row[1] for row in ledger_rows(warehouse_connection, result.run_id)}
    assert statuses == {"2026-11-19": "uploaded", "2026-11-20": "blocked"}
    assert first.success


def test_quarantined_rows_land_in_the_lake_and_the_quarantine_table_and_not_in_the_table(chain_project, warehouse_home, warehouse_connection):
    cursor = warehouse_connection.cursor()
    cursor.execute('DROP TABLE IF EXISTS "ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
    add_rules(chain_project, r"{rule: regex, column: email, pattern: '^[^@\s]+@[^@\s]+\.[a-z]+$', action: quarantine}")
    chain_project.land("orders", "orders_day1.csv", DAY1)
    result = run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-19")
    assert result.success

    assert 5005 not in table_rows(warehouse_connection), "eve@example has no top-level domain"
    assert len(table_rows(warehouse_connection)) == 6
    quarantined = pq.read_table(chain_project.paths.lake / "orders" / "quarantine" / "2026-11-19.parquet").to_pylist()
    assert [(row["order_id"], row["_failed_rules"]) for row in quarantined] == [(5005, "regex_email")]
    cursor.execute('SELECT "order_id", "_failed_rules", "_source_file" FROM "ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
    assert cursor.fetchall() == [(5005, "regex_email", "orders_day1.csv")]
    assert check_results(result)["reconciliation"].passed
    transformed = result.asset_materializations_for_node("transformed__orders")[0].metadata
    assert transformed["rows_quarantined"].value == 1
    assert transformed["quality_score"].value == round(6 / 7, 4)

    # a rerun leaves one quarantined row, not two
    assert run_chain(chain_project, warehouse_home, "orders", "2026-11-19", "2026-11-19").success
    cursor.execute('SELECT COUNT(*) FROM "ANALYTICS"."RAW"."ORDERS_QUARANTINE"')
    assert cursor.fetchone()[0] == 1
