"""What people really upload, through `etl-assets upload` and `dagster asset materialize` to the warehouse: a zip
of European CSVs (semicolons, decimal commas, a banner line) whose rows span two days, windowed by their own dates."""

from __future__ import annotations

import json
import zipfile

import pytest

from etl_assets_tests.project_config import write_project_config

pytestmark = pytest.mark.integration

NORTH = "Export of 2026-11-03\nOrder ID;Day;Amount;Code\n1;2026-11-01;1.234,50;007\n2;2026-11-02;0,99;010\n"
SOUTH = "Export of 2026-11-03\nOrder ID;Day;Amount;Code\n3;2026-11-02;12,00;NA\n4;someday;5,00;011\n"


def test_a_zip_of_european_csvs_dated_by_their_rows_loads_each_row_in_its_own_window(cli, tmp_path):
    config = tmp_path / "etl_config.yaml"
    write_project_config(
        config,
        f"""
              sales:
                source:
                  path: "{cli.home}/landing/sales"
                  pattern: "*.zip"
                  settle_seconds: 0
                  partition_by: {{column: Day}}
                  delimiter: ";"
                  decimal: ","
                  skip_rows: 1
                  null_values: [NA]
                  max_reject_percent: 50
                transform:
                  columns:
                    order_id: {{from: Order ID, type: integer}}
                    day: {{from: Day, type: date}}
                    amount: {{from: Amount, type: "decimal(12,2)"}}
                    code: {{from: Code, type: string}}
                load: {{table: SALES, strategy: merge, keys: [order_id]}}
        """,
    )
    cli.env["ETL_ASSETS_CONFIG"] = str(config)
    packed = tmp_path / "regions.zip"
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("north.csv", NORTH)
        archive.writestr("south.csv", SOUTH)

    uploaded = cli.run("upload", str(packed), "--dataset", "sales")
    assert uploaded.returncode == 0, uploaded.stderr
    assert "(2 windows: 2026-11-01, 2026-11-02)" in uploaded.stdout
    run = cli.run("asset", "materialize", "-m", "etl_assets.definitions", "--select", "group:sales", "--partition-range", "2026-11-01...2026-11-02", command="dagster")
    assert run.returncode == 0, run.stderr[-3000:]

    query = 'SELECT "time_window_start", "order_id", "amount", "code", "_source_file", "_source_row" FROM "ANALYTICS"."RAW"."SALES" ORDER BY 2'
    result = cli.run("warehouse", "sql", query, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = [(row["time_window_start"][:10], row["order_id"], str(row["amount"]), row["code"], row["_source_file"], row["_source_row"]) for row in json.loads(result.stdout)]
    assert rows == [
        ("2026-11-01", 1, "1234.50", "007", "regions.zip/north.csv", 3),
        ("2026-11-02", 2, "0.99", "010", "regions.zip/north.csv", 4),
        ("2026-11-02", 3, "12.00", None, "regions.zip/south.csv", 3),
    ]
    rejects = (cli.home / "lake/sales/rejects/2026-11-02.jsonl").read_text().splitlines()
    assert [(json.loads(line)["source_file"], json.loads(line)["line"]) for line in rejects] == [("regions.zip/south.csv", 4)]
    assert not (cli.home / "landing/sales/regions.zip").exists()
