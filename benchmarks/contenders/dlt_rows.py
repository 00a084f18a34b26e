"""dlt as a new user first runs it: the CSV's rows as Python dicts (csv.DictReader) into `pipeline.run`,
merged on order_id into DuckDB, every other setting left at dlt's default (its own type inference and normalizer).

    .venv-bench/bin/python benchmarks/contenders/dlt_rows.py ORDERS.csv WORKDIR
"""

import csv
import sys
from pathlib import Path

import dlt


def rows(csv_path: str):
    with open(csv_path, newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def main(csv_path: str, workdir: str) -> None:
    pipeline = dlt.pipeline(
        pipeline_name="bench_rows", pipelines_dir=str(Path(workdir) / "pipelines"),
        destination=dlt.destinations.duckdb(str(Path(workdir) / "dlt_rows.duckdb")), dataset_name="raw",
    )
    info = pipeline.run(rows(csv_path), table_name="orders", write_disposition="merge", primary_key="order_id")
    info.raise_on_failed_jobs()
    with pipeline.sql_client() as client:
        print("ROWS", client.execute_sql("SELECT COUNT(*) FROM orders")[0][0])


if __name__ == "__main__":
    main(*sys.argv[1:3])
