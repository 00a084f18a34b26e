"""run_query against the emulator and the three output formats."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from etl_assets.errors import WarehouseError
from etl_assets.warehouse.query import format_result, run_query

COLUMNS = ["id", "name", "amount", "day"]
ROWS = [(1, "ann", Decimal("1.50"), dt.date(2026, 1, 2)), (22, None, Decimal("10.00"), None)]


def test_table_is_aligned():
    assert format_result(COLUMNS, ROWS, "table").splitlines() == [
        "id  name  amount  day",
        "--  ----  ------  ----------",
        "1   ann   1.50    2026-01-02",
        "22  NULL  10.00   NULL",
        "(2 rows)",
    ]


def test_csv_uses_empty_cells_for_null():
    assert format_result(COLUMNS, ROWS, "csv") == "id,name,amount,day\n1,ann,1.50,2026-01-02\n22,,10.00,\n"


def test_json_is_a_list_of_objects_with_dates_and_decimals_as_strings():
    assert json.loads(format_result(COLUMNS, ROWS, "json")) == [
        {"id": 1, "name": "ann", "amount": "1.50", "day": "2026-01-02"},
        {"id": 22, "name": None, "amount": "10.00", "day": None},
    ]


def test_unknown_format_is_refused():
    with pytest.raises(WarehouseError, match="use table, csv or json"):
        format_result(COLUMNS, ROWS, "xml")


@pytest.mark.integration
def test_run_query_returns_columns_and_rows(warehouse_connection):
    columns, rows = run_query(
        warehouse_connection, "SELECT 1 AS n, 'a,b' AS s, CAST('2026-01-02' AS DATE) AS d, NULL AS missing"
    )
    assert columns == ["N", "S", "D", "MISSING"]
    assert rows == [(1, "a,b", dt.date(2026, 1, 2), None)]
    assert format_result(columns, rows, "csv") == 'N,S,D,MISSING\n1,"a,b",2026-01-02,\n'


@pytest.mark.integration
def test_run_query_reports_a_refused_statement(warehouse_connection):
    with pytest.raises(WarehouseError, match=r"The warehouse refused the statement \(.+\); fix the SQL"):
        run_query(warehouse_connection, "SELEC 1")


@pytest.mark.integration
def test_json_holds_non_finite_floats_and_binary_as_text_so_any_json_reader_takes_it(warehouse_connection):
    columns, rows = run_query(
        warehouse_connection, "SELECT CAST('NaN' AS FLOAT) AS x, CAST('inf' AS FLOAT) AS y, TO_BINARY('abc', 'UTF-8') AS b"
    )
    strict = json.loads(format_result(columns, rows, "json"), parse_constant=_refuse)
    assert strict == [{"X": "nan", "Y": "inf", "B": "616263"}]
    assert format_result(columns, rows, "csv") == "X,Y,B\nnan,inf,616263\n"


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")
