"""Transient versus permanent warehouse errors, from real failures where the emulator can produce them."""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import snowflake.connector
from snowflake.connector import errors as sf_errors

from etl_assets.warehouse.emulator_server import free_port
from etl_assets.warehouse.errors import PermanentWarehouseError, TransientWarehouseError, classify, is_transient
from etl_assets.warehouse.loader import load_window
from etl_assets.warehouse.model import LoadRequest


def failure_of(connection, sql: str) -> sf_errors.Error:
    with pytest.raises(sf_errors.Error) as caught:
        connection.cursor().execute(sql)
    return caught.value


@pytest.mark.integration
def test_closed_port_is_transient_and_names_no_host_or_port(emulator):
    port = free_port()
    args = {**emulator.connection_args(), "port": port, "login_timeout": 3}
    with pytest.raises(sf_errors.Error) as caught:
        snowflake.connector.connect(**args)

    error = classify(caught.value, "Connecting to warehouse connection 'local'")
    assert isinstance(error, TransientWarehouseError)
    assert str(error).startswith(
        "Connecting to warehouse connection 'local' failed because the warehouse could not be reached"
    )
    assert "127.0.0.1" not in str(error) and str(port) not in str(error) and "snow" not in str(error)


@pytest.mark.integration
def test_sql_compilation_and_missing_objects_are_permanent(warehouse_connection):
    syntax = classify(failure_of(warehouse_connection, "SELEC 1"), "Running the check")
    missing = classify(failure_of(warehouse_connection, 'SELECT * FROM "NOPE"."NOPE"."NOPE"'), "Reading NOPE")

    assert isinstance(syntax, PermanentWarehouseError) and isinstance(missing, PermanentWarehouseError)
    assert str(syntax).startswith("Running the check failed (001003 (42000): Invalid expression")
    assert str(syntax).endswith("correct the SQL statement, or report this message if etl-assets generated it.")
    assert str(missing).endswith("check the database, schema and table names in the warehouse settings, "
                                 "and that the role may see them.")  # fmt: skip


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (sf_errors.DatabaseError(msg="Incorrect username or password was specified.", errno=390100, sqlstate="08004"),
         "check the user and password or key of warehouse connection 'prod'"),
        (sf_errors.ProgrammingError(msg="Insufficient privileges to operate on schema 'RAW'", errno=3001,
                                    sqlstate="42501"),
         "grant the role of warehouse connection 'prod' USAGE on the database and schema"),
    ],
)  # fmt: skip
def test_auth_and_permission_errors_say_what_to_fix(error, fix):
    # the emulator accepts any password and has no grants, so these are the connector's own error objects
    classified = classify(error, "Loading window 2026-01-01 into A.B.C", connection_name="prod")
    assert isinstance(classified, PermanentWarehouseError)
    assert fix in str(classified)


@pytest.mark.parametrize(
    "error",
    [
        sf_errors.ServiceUnavailableError(),
        sf_errors.OperationalError(msg="Failed to execute request", errno=250003),
        sf_errors.ProgrammingError(msg="Statement reached its statement or warehouse timeout", errno=630),
        sf_errors.ProgrammingError(msg="TransactionContext Error: Conflict on tuple deletion!", errno=100000),
        ConnectionResetError(),
    ],
)
def test_unreachable_or_busy_warehouse_is_transient(error):
    assert is_transient(error)
    assert isinstance(classify(error, "Loading"), TransientWarehouseError)


def test_urls_hosts_and_ports_are_removed_from_permanent_messages():
    message = "Bad request to https://acme.snowflakecomputing.com:443/q host='10.0.0.1' port=443"
    error = sf_errors.ProgrammingError(msg=message)
    assert "acme" not in str(classify(error, "Loading")) and "10.0.0.1" not in str(classify(error, "Loading"))


@pytest.mark.integration
def test_sql_error_during_a_load_is_permanent_and_keeps_the_cause(warehouse_connection, tmp_path):
    schema = f"S_{uuid.uuid4().hex[:8].upper()}"
    cursor = warehouse_connection.cursor()
    cursor.execute('CREATE DATABASE IF NOT EXISTS "ERRS"')
    cursor.execute(f'CREATE SCHEMA "ERRS"."{schema}"')
    # a NOT NULL column the file lacks fails the INSERT inside the transaction
    cursor.execute(f'CREATE TABLE "ERRS"."{schema}"."ORDERS" ("order_id" NUMBER(38,0), "required" VARCHAR NOT NULL)')
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"order_id": [1]}), path)
    request = LoadRequest(
        database="ERRS", schema=schema, table="ORDERS", strategy="append", keys=[], window_key="2026-01-01",
        window_start=dt.datetime(2026, 1, 1), window_end=dt.datetime(2026, 1, 2), run_id="r", parquet_path=path,
    )  # fmt: skip
    with pytest.raises(PermanentWarehouseError) as caught:
        load_window(warehouse_connection, request)
    assert isinstance(caught.value.__cause__, sf_errors.ProgrammingError)
    assert "while applying the append strategy" in str(caught.value)
