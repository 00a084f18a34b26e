"""Names and values written into SQL text: nothing a config or a file holds can change the statement."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from etl_assets.errors import EtlAssetsError
from etl_assets.sql_text import literal, qualified_name, quote_identifier


def test_quote_identifier_doubles_embedded_quotes():
    assert quote_identifier("order_id") == '"order_id"'
    assert quote_identifier('"; drop table x; --') == '"""; drop table x; --"'
    assert qualified_name("DB", "RAW", 'a"b') == '"DB"."RAW"."a""b"'


def test_empty_identifier_is_refused():
    with pytest.raises(EtlAssetsError, match="empty name"):
        quote_identifier("")


@pytest.mark.parametrize(
    "value",
    ["it's", "'; DROP TABLE x; --", "", "naïve\nline", 7, -1.5, True, False, dt.date(2026, 1, 2), dt.datetime(2026, 1, 2, 3, 4, 5)],
)
def test_literal_reads_back_as_the_same_value(value):
    with duckdb.connect() as connection:
        assert connection.execute(f"SELECT {literal(value)}").fetchone()[0] == value


def test_identifier_round_trips_through_duckdb():
    name = 'we"ird name; --'
    with duckdb.connect() as connection:
        connection.execute(f"CREATE TABLE t ({quote_identifier(name)} INTEGER)")
        assert connection.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 't'").fetchone()[0] == name
