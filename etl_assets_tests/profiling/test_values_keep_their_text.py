"""Type inference never changes what a value says: a column is typed only when every value loads reading the same."""

from __future__ import annotations

import decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.column_types import duckdb_type
from etl_assets.profiling.profiler import profile_parquet

STAY_TEXT = {
    "zip": ["01234", "12345"],
    "phone": ["+15551234567", "15551234568"],
    "code": ["007", "8"],
    "plus_decimal": ["+1.5", "2.5"],
    "leading_zero_decimal": ["00.5", "1.5"],
    "bare_fraction": [".5", "1.5"],
    "bare_point": ["5.", "1.5"],
    "exponent": ["1e3", "2"],
    "big_exponent": ["2310009E13", "1E5"],
    "hex": ["0x1F", "12"],
    "padded": [" 12", "13"],
    "padded_after": ["12 ", "13"],
    "negative_zero": ["-0", "1"],
    "negative_zero_decimal": ["-0.00", "1.25"],
    "underscores": ["1_000", "2"],
    "arabic_indic": ["١٢٣", "4"],
    "thousands": ["1,000", "2"],
    "too_many_digits": ["1" * 40, "2"],
    "nanoseconds": ["2026-01-05 10:00:00.123456789", "2026-01-05 10:00:00"],
    "short_date": ["2026-1-5", "2026-01-06"],
    "padded_date": [" 2026-01-05", "2026-01-06"],
    "five_digit_year": ["10000-01-01", "2026-01-06"],
    "before_christ": ["2026-01-05 (BC)", "2026-01-06"],
    "plus_integer": ["+7", "8"],
    # a regex's case folding reads a long s as an s; no cast reads "falſe" as false
    "long_s_flag": ["falſe", "true"],
    "yes_no": ["yes", "no"],
}
TYPED = {
    "integer": (["0", "12", "-3", "9223372036854775807"], "integer"),
    "decimal": (["0.5", "-0.25", "1.50", "12"], "decimal(4,2)"),
    "wide_integer": (["12345678901234567890", "-1"], "decimal(20,0)"),
    "flag": (["true", "FALSE"], "boolean"),
    "day": (["2026-01-05", "2024-02-29"], "date"),
    "moment": (["2026-01-05T10:00:00Z", "2026-01-05 10:00:00.123456"], "timestamp"),
}


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    columns = STAY_TEXT | {name: values for name, (values, _) in TYPED.items()}
    rows = max(len(values) for values in columns.values())
    path = tmp_path_factory.mktemp("upload") / "upload.parquet"
    pq.write_table(pa.table({name: values + [None] * (rows - len(values)) for name, values in columns.items()}), path)
    return path, profile_parquet(path).inferred_types()


def test_forms_that_would_load_reading_differently_stay_text(profiled):
    _, types = profiled
    assert {name: types[name] for name in STAY_TEXT} == dict.fromkeys(STAY_TEXT, "string")


def test_plain_numbers_dates_and_booleans_are_typed(profiled):
    _, types = profiled
    assert {name: types[name] for name in TYPED} == {name: kind for name, (_, kind) in TYPED.items()}


def test_every_typed_number_and_date_loads_as_the_number_or_date_it_says(profiled):
    path, types = profiled
    with duckdb.connect() as connection:
        for name in ("integer", "decimal", "wide_integer", "day"):
            loaded = connection.execute(
                f'SELECT "{name}", TRY_CAST("{name}" AS {duckdb_type(types[name])}) FROM read_parquet(?)', [str(path)]
            ).fetchall()
            for text, value in [(text, value) for text, value in loaded if text is not None]:
                expected = decimal.Decimal(text) if isinstance(value, decimal.Decimal) else text
                assert (value if isinstance(value, decimal.Decimal) else str(value)) == expected
