"""The floor: DuckDB reads the CSV into Parquet, then PUT and COPY INTO the emulator through the real connector.

    python benchmarks/contenders/floor.py ORDERS.csv WORKDIR WAREHOUSE_DIR
"""

import sys
from pathlib import Path

import duckdb
import snowflake.connector

from etl_assets.warehouse.emulator import LocalEmulator

COLUMNS = {
    "Order ID": "NUMBER(38,0)", "Customer ID": "NUMBER(38,0)", "Email": "VARCHAR", "Order Date": "DATE",
    "Status": "VARCHAR", "Country": "VARCHAR", "Gross Amount": "NUMBER(12,2)", "Discount": "NUMBER(12,2)",
    "Note": "VARCHAR",
}


def snake(name: str) -> str:
    return name.lower().replace(" ", "_")


def main(csv_path: str, workdir: str, warehouse_dir: str) -> None:
    parquet = Path(workdir) / "orders.parquet"
    select = ", ".join(f'"{name}" AS {snake(name)}' for name in COLUMNS)
    duckdb.sql(f"COPY (SELECT {select} FROM read_csv('{csv_path}')) TO '{parquet}' (FORMAT parquet)")
    with snowflake.connector.connect(**LocalEmulator(Path(warehouse_dir)).connection_args()) as connection:
        cursor = connection.cursor()
        for statement in (
            "CREATE DATABASE IF NOT EXISTS FLOOR", "CREATE SCHEMA IF NOT EXISTS FLOOR.RAW", "USE SCHEMA FLOOR.RAW",
            "CREATE OR REPLACE TABLE ORDERS ("
            + ", ".join(f"{snake(name)} {sf_type}" for name, sf_type in COLUMNS.items()) + ")",
            "CREATE STAGE IF NOT EXISTS FLOOR_STAGE",
            f"PUT 'file://{parquet}' @FLOOR_STAGE/orders OVERWRITE = TRUE AUTO_COMPRESS = FALSE",
            "COPY INTO ORDERS FROM @FLOOR_STAGE/orders FILE_FORMAT = (TYPE = PARQUET) "
            "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE",
        ):
            cursor.execute(statement)
        cursor.execute("SELECT COUNT(*) FROM ORDERS")
        print("ROWS", cursor.fetchone()[0])


if __name__ == "__main__":
    main(*sys.argv[1:4])
