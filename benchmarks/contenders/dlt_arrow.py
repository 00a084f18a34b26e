"""dlt's arrow path: pyarrow reads the CSV in record batches, dlt merges them on order_id into DuckDB.

    .venv-bench/bin/python benchmarks/contenders/dlt_arrow.py ORDERS.csv WORKDIR
"""

import sys
from pathlib import Path

import dlt
import pyarrow.csv as pacsv


def batches(csv_path: str):
    reader = pacsv.open_csv(csv_path, read_options=pacsv.ReadOptions(block_size=16 << 20))
    yield from reader


def main(csv_path: str, workdir: str) -> None:
    pipeline = dlt.pipeline(
        pipeline_name="bench_arrow", pipelines_dir=str(Path(workdir) / "pipelines"),
        destination=dlt.destinations.duckdb(str(Path(workdir) / "dlt_arrow.duckdb")), dataset_name="raw",
    )
    resource = dlt.resource(batches(csv_path), name="orders", write_disposition="merge", primary_key="order_id")
    info = pipeline.run(resource)
    info.raise_on_failed_jobs()
    with pipeline.sql_client() as client:
        print("ROWS", client.execute_sql("SELECT COUNT(*) FROM orders")[0][0])


if __name__ == "__main__":
    main(*sys.argv[1:3])
