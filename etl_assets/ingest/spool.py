"""A window's upload written batch by batch, so no file is ever held whole: each file's rows go to a Parquet part
as they are read, then the parts are combined under one schema into the window's file, one row group at a time."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl_assets.column_types import is_binary, is_text
from etl_assets.config.columns import ARRIVED_AT, SOURCE_FILE, SOURCE_ROW
from etl_assets.files import atomic_path
from etl_assets.ingest.model import Lineage, SpooledFile, StreamedRead
from etl_assets.write_behind import WriteBehind

ARRIVED_AT_TYPE = pa.timestamp("us", tz="UTC")
LINEAGE_SCHEMA = pa.schema([(SOURCE_FILE, pa.string()), (SOURCE_ROW, pa.int64()), (ARRIVED_AT, ARRIVED_AT_TYPE)])
# Batches are gathered to at least this many rows before they are written, so a part has no tiny row groups.
MIN_ROW_GROUP_ROWS = 65536
# Only a column whose first row group has at most this share of distinct values is dictionary-encoded: building a
# dictionary for an id, an email or free text, only to give it up, took a fifth of writing a 10M-row upload.
DICTIONARY_MAX_DISTINCT_SHARE = 0.5


def spool_file(streamed: StreamedRead, lineage: Lineage, part: Path) -> SpooledFile:
    """Write a file's rows to `part` as they are read, each batch with its lineage columns; the row groups are
    written behind the reading (write_behind.py)."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        with WriteBehind("spool-write") as behind:
            for group in _row_groups(streamed.batches):
                table = _with_lineage(group, lineage)
                writer = writer or pq.ParquetWriter(part, table.schema, **writer_options(table))
                behind.write(writer, table)
                rows += group.num_rows
        summary = streamed.summary()
        if writer is None:  # no rows: the part still says which columns the file has
            writer = _write(writer, part, _with_lineage(summary.table, lineage))
    finally:
        if writer is not None:
            writer.close()
    return SpooledFile(part, rows, lineage, summary)


def combine_parts(spooled: list[SpooledFile], output: Path) -> None:
    """Write the parts into `output` in order, under one schema."""
    schemas = [pq.read_schema(file.part) for file in spooled]
    schema = _union_schema(schemas)
    with atomic_path(output) as temporary:
        if len(spooled) == 1 and schemas[0].equals(schema):
            os.replace(spooled[0].part, temporary)  # already the upload: nothing to rewrite
            return
        with pq.ParquetWriter(temporary, schema, write_statistics=statistics_columns(schema)) as writer:
            for file in spooled:
                _copy_part(file.part, schema, writer)


def _with_lineage(table: pa.Table, lineage: Lineage) -> pa.Table:
    """The rows (ending in `_source_row`) with the file's name, row and arrival as the last columns."""
    rows = table.num_rows
    source_rows = table[SOURCE_ROW]
    data = table.drop_columns([SOURCE_ROW])
    data = data.append_column(SOURCE_FILE, pa.repeat(pa.scalar(lineage.source_file, pa.string()), rows))
    data = data.append_column(SOURCE_ROW, source_rows)
    return data.append_column(ARRIVED_AT, pa.repeat(pa.scalar(lineage.arrived_at, ARRIVED_AT_TYPE), rows))


def _union_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for all parts: every column, a column whose parts disagree as text, the lineage columns last."""
    types: dict[str, set[pa.DataType]] = {}
    for schema in schemas:
        for field in schema:
            types.setdefault(field.name, set())
            if not pa.types.is_null(field.type):
                types[field.name].add(field.type)
    lineage = set(LINEAGE_SCHEMA.names)
    names = [name for name in types if name not in lineage] + LINEAGE_SCHEMA.names
    return pa.schema([(name, _common_type(types.get(name, set()), name)) for name in names])


def writer_options(table: pa.Table) -> dict[str, object]:
    """How an upload's Parquet is written, judged on its first row group: dictionaries where values repeat, and
    statistics only for columns other than text."""
    return {"use_dictionary": repetitive_columns(table), "write_statistics": statistics_columns(table.schema)}


def statistics_columns(schema: pa.Schema) -> list[str] | bool:
    """The columns whose min and max are worth keeping: not text. Every stage scans an upload whole, so no reader
    skips a row group by them, and the min and max of text columns took 40% of writing a million rows."""
    if any(pa.types.is_nested(field.type) for field in schema):
        return True
    return [field.name for field in schema if not (is_text(field.type) or is_binary(field.type))]


def repetitive_columns(table: pa.Table) -> list[str] | bool:
    """The columns worth a dictionary, judged on the first row group: those whose values repeat, and those Arrow
    cannot count (JSON, all NULL), as before. With nested columns, whose leaves a list of names does not reach,
    every column keeps its dictionary."""
    if any(pa.types.is_nested(field.type) for field in table.schema):
        return True
    return [name for name in table.column_names if _repeats(table[name])]


def _repeats(column: pa.ChunkedArray) -> bool:
    try:
        return pc.count_distinct(column).as_py() <= DICTIONARY_MAX_DISTINCT_SHARE * len(column)
    except pa.ArrowNotImplementedError:
        return True


def _write(writer: pq.ParquetWriter | None, part: Path, table: pa.Table) -> pq.ParquetWriter:
    writer = writer or pq.ParquetWriter(part, table.schema, write_statistics=statistics_columns(table.schema))
    writer.write_table(table)
    return writer


def _row_groups(batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """The batches gathered to at least MIN_ROW_GROUP_ROWS rows each (the last may have fewer)."""
    gathered: list[pa.Table] = []
    rows = 0
    for batch in batches:
        gathered.append(batch)
        rows += batch.num_rows
        if rows >= MIN_ROW_GROUP_ROWS:
            yield pa.concat_tables(gathered)
            gathered, rows = [], 0
    if rows:
        yield pa.concat_tables(gathered)


def _copy_part(part: Path, schema: pa.Schema, writer: pq.ParquetWriter) -> None:
    parquet = pq.ParquetFile(part)
    for index in range(parquet.num_row_groups):
        writer.write_table(_conform(parquet.read_row_group(index), schema))


def _common_type(types: set[pa.DataType], name: str) -> pa.DataType:
    if name in LINEAGE_SCHEMA.names:
        return LINEAGE_SCHEMA.field(name).type
    return next(iter(types)) if len(types) == 1 else pa.string()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, field.type))
        elif table.schema.field(field.name).type == field.type:
            columns.append(table[field.name])
        else:
            columns.append(_as_text(table[field.name]))
    return pa.Table.from_arrays(columns, schema=schema)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        # Nested values have no Arrow cast to text; JSON keeps them readable.
        values = column.to_pylist()
        return pa.chunked_array([pa.array([None if value is None else json.dumps(value, default=str) for value in values], pa.string())])
