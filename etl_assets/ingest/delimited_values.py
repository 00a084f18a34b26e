"""Delimited text's values as the source's options read them: its null_values made NULL and, with decimal ",",
numbers such as 1.234,56 made 1234.56; a column at a time in Arrow, the values staying text (typed later)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from etl_assets.ingest.model import ReadOptions

# A decimal comma, or dots grouping thousands after a lead of 1-3 digits: 1.234,56 -0,5 1.234.567. Not 12.03,
# 1.2.3 or 3,5 kg, which are not such numbers; a number without either (007) has nothing to change.
DECIMAL_COMMA_NUMBER = r"^[+-]?(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d+)$"


def read_values(fields: pa.Table, options: ReadOptions) -> pa.Table:
    """`fields` (string columns) with `options.null_values` NULL and, when `options.decimal` is ",", numbers dot-decimal."""
    if not options.null_values and options.decimal == ".":
        return fields
    nulls = pa.array(options.null_values, pa.string())
    columns = [_column(fields[name].combine_chunks(), nulls, options.decimal) for name in fields.column_names]
    return pa.table(columns, names=fields.column_names)


def _column(values: pa.StringArray, nulls: pa.StringArray, decimal: str) -> pa.StringArray:
    if len(nulls):
        values = pc.if_else(pc.is_in(values, value_set=nulls), pa.scalar(None, pa.string()), values)
    return _dot_decimal(values) if decimal == "," else values


def _dot_decimal(values: pa.StringArray) -> pa.StringArray:
    numbers = pc.fill_null(pc.match_substring_regex(values, DECIMAL_COMMA_NUMBER), False)
    if not pc.any(numbers).as_py():
        return values
    dotted = pc.replace_substring(pc.replace_substring(values.filter(numbers), ".", ""), ",", ".")
    return pc.replace_with_mask(values, numbers, dotted)
