"""Column types: Arrow, the config's logical types, DuckDB and Snowflake, mapped in one place and checked on real engines."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.column_types import (
    SCALAR_TYPES,
    duckdb_type,
    is_json,
    is_text,
    logical_type,
    matches_type,
    normalised_type,
    snowflake_type,
)

LOGICAL_TYPES = [*SCALAR_TYPES, "decimal(12,2)"]


@pytest.mark.parametrize("logical", LOGICAL_TYPES)
def test_a_column_duckdb_writes_for_a_logical_type_reads_back_as_that_type(tmp_path, logical):
    with duckdb.connect() as connection:
        table = connection.sql(f"SELECT CAST(NULL AS {duckdb_type(logical)}) AS x").to_arrow_table()
    if logical == "json":
        # DuckDB hands JSON over as text; the generated scripts cast it to Arrow's JSON type before writing
        table = table.set_column(0, "x", table.column(0).cast(pa.json_()))
    pq.write_table(table, tmp_path / "x.parquet")
    arrow_type = pq.read_schema(tmp_path / "x.parquet").field("x").type
    assert logical_type(arrow_type) == logical
    assert matches_type(arrow_type, logical)
    assert [other for other in LOGICAL_TYPES if matches_type(arrow_type, other)] == [logical]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [(" String ", "string"), ("DECIMAL(12, 2)", "decimal(12,2)"), ("Decimal(38, 0)", "decimal(38,0)")],
)
def test_logical_types_are_normalised_to_one_spelling(written, canonical):
    assert normalised_type(written) == canonical


@pytest.mark.parametrize("written", ["text", "decimal(39,0)", "decimal(2,3)", "decimal(0,0)"])
def test_unknown_logical_types_are_refused_with_the_known_ones(written):
    with pytest.raises(ValueError, match="use one of string, integer, float, boolean, date, timestamp, json or decimal"):
        normalised_type(written)


def test_json_and_every_string_layout_are_text_and_nothing_else_is():
    assert is_json(pa.json_()) and is_text(pa.json_())
    assert not is_json(pa.string())
    assert all(is_text(t) for t in (pa.string(), pa.large_string(), pa.string_view()))
    assert not any(is_text(t) for t in (pa.binary(), pa.int64(), pa.dictionary(pa.int32(), pa.string())))


@pytest.mark.parametrize(
    ("arrow_type", "expected"),
    [
        (pa.int8(), "NUMBER(38,0)"),
        (pa.uint64(), "NUMBER(38,0)"),
        (pa.decimal128(12, 2), "NUMBER(12,2)"),
        (pa.float32(), "FLOAT"),
        (pa.float64(), "FLOAT"),
        (pa.string(), "VARCHAR"),
        (pa.large_string(), "VARCHAR"),
        (pa.string_view(), "VARCHAR"),
        (pa.dictionary(pa.int32(), pa.string()), "VARCHAR"),
        (pa.json_(), "VARIANT"),
        (pa.bool_(), "BOOLEAN"),
        (pa.date32(), "DATE"),
        (pa.time64("us"), "TIME"),
        (pa.timestamp("us"), "TIMESTAMP_NTZ"),
        (pa.timestamp("ns", tz="UTC"), "TIMESTAMP_TZ"),
        (pa.list_(pa.int64()), "VARIANT"),
        (pa.struct([("a", pa.int64())]), "VARIANT"),
        (pa.map_(pa.string(), pa.int64()), "VARIANT"),
        (pa.binary(), "BINARY"),
        (pa.duration("s"), None),
    ],
)
def test_arrow_types_map_to_snowflake_types(arrow_type, expected):
    assert snowflake_type(arrow_type) == expected
