"""The row-by-row way: the window's rows as Python tuples, one `executemany` INSERT through the real connector.

    python benchmarks/contenders/executemany_load.py WINDOW.parquet WAREHOUSE_DIR

Prints `INSIDE SECONDS`: the INSERTs alone, without the interpreter, imports and connection.
The connector's default (pyformat) binding sends the rows as INSERT ... VALUES statements it builds client-side.
"""

import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import snowflake.connector

from etl_assets.warehouse.emulator import LocalEmulator

TYPES = {"int64": "NUMBER(38,0)", "date32[day]": "DATE", "double": "FLOAT"}

table = pq.read_table(sys.argv[1])
columns = ", ".join(f"{field.name} {TYPES.get(str(field.type), 'VARCHAR')}" for field in table.schema)
with snowflake.connector.connect(**LocalEmulator(Path(sys.argv[2])).connection_args()) as connection:
    cursor = connection.cursor()
    for statement in ("CREATE DATABASE IF NOT EXISTS ROWS_DB", "CREATE SCHEMA IF NOT EXISTS ROWS_DB.RAW",
                      "USE SCHEMA ROWS_DB.RAW", f"CREATE OR REPLACE TABLE ORDERS ({columns})"):
        cursor.execute(statement)
    started = time.perf_counter()
    placeholders = ", ".join(["%s"] * table.num_columns)
    rows = list(zip(*(column.to_pylist() for column in table.columns)))
    cursor.executemany(f"INSERT INTO ORDERS VALUES ({placeholders})", rows)
    print("INSIDE", time.perf_counter() - started)
    cursor.execute("SELECT COUNT(*) FROM ORDERS")
    print("ROWS", cursor.fetchone()[0])
