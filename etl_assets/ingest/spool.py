"""A window's upload written batch by batch, so no file is ever held whole: each file's rows go to a Parquet part
as they are read, then the parts are combined under one schema into the window's file, one row group at a time."""

from __future__ import annotations

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
from etl_assets.ingest.schema_union import conformed, fitted, integers_fit_double, union_schema, widened
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
    written behind the reading (write_behind.py). A batch that does not fit the part's columns, as a JSON file typed
    batch by batch may give, starts another part beside it (`<part>.1.parquet`...), so no value is lost."""
    writers: list[pq.ParquetWriter] = []
    parts: list[Path] = []
    rows = 0
    try:
        with WriteBehind("spool-write") as behind:
            for group in _row_groups(_fitted_batches(streamed.batches)):
                table = with_lineage(group, lineage)
                if not writers or not writers[-1].schema.equals(table.schema):
                    parts.append(part if not parts else part.with_name(f"{part.stem}.{len(parts)}{part.suffix}"))
                    writers.append(pq.ParquetWriter(parts[-1], table.schema, **writer_options(table)))
                behind.write(writers[-1], table)
                rows += group.num_rows
        summary = streamed.summary()
        if not writers:  # no rows: the part still says which columns the file has
            parts.append(part)
            writers.append(_write(None, part, with_lineage(summary.table, lineage)))
    finally:
        for writer in writers:
            writer.close()
    return SpooledFile(tuple(parts), rows, lineage, summary)


def combine_parts(spooled: list[SpooledFile], output: Path) -> None:
    """Write the parts into `output` in order, under one schema."""
    parts = [part for file in spooled for part in file.parts]
    metadata = [pq.read_metadata(part) for part in parts]
    schemas = [part_metadata.schema.to_arrow_schema() for part_metadata in metadata]
    schema = union_schema(schemas, lambda name: all(_integers_fit(part_metadata, name) for part_metadata in metadata), LINEAGE_SCHEMA.names)
    with atomic_path(output) as temporary:
        if len(parts) == 1 and schemas[0].equals(schema):
            os.replace(parts[0], temporary)  # already the upload: nothing to rewrite
            return
        with pq.ParquetWriter(temporary, schema, write_statistics=statistics_columns(schema)) as writer:
            for part in parts:
                _copy_part(part, schema, writer)


def with_lineage(table: pa.Table, lineage: Lineage) -> pa.Table:
    """The rows (ending in `_source_row`) with the file's name, row and arrival as the last columns."""
    rows = table.num_rows
    source_rows = table[SOURCE_ROW]
    data = table.drop_columns([SOURCE_ROW])
    data = data.append_column(SOURCE_FILE, pa.repeat(pa.scalar(lineage.source_file, pa.string()), rows))
    data = data.append_column(SOURCE_ROW, source_rows)
    return data.append_column(ARRIVED_AT, pa.repeat(pa.scalar(lineage.arrived_at, ARRIVED_AT_TYPE), rows))


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


def _fitted_batches(batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """The batches, each under the schema of the one before when it fits (schema_union.py), else under that schema
    widened by its own; batches of one schema, as CSV and Parquet give, pass as they are."""
    schema = None
    for batch in batches:
        if schema is not None and not batch.schema.equals(schema):
            fitting = fitted(batch, schema)
            batch = fitting if fitting is not None else fitted(batch, widened(schema, batch.schema))
        schema = batch.schema
        yield batch


def _row_groups(batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """The batches gathered to at least MIN_ROW_GROUP_ROWS rows each (the last may have fewer); a batch of another
    schema starts a new group."""
    gathered: list[pa.Table] = []
    rows = 0
    for batch in batches:
        if gathered and not batch.schema.equals(gathered[0].schema):
            yield pa.concat_tables(gathered)
            gathered, rows = [], 0
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
        writer.write_table(conformed(parquet.read_row_group(index), schema))


def _integers_fit(metadata: pq.FileMetaData, name: str) -> bool:
    """Whether a part's integers in column `name` are all ones a double holds exactly, by its row groups' statistics."""
    schema = metadata.schema.to_arrow_schema()
    if name not in schema.names or not pa.types.is_integer(schema.field(name).type):
        return True
    index = [metadata.schema.column(position).path for position in range(metadata.num_columns)].index(name)
    for group in range(metadata.num_row_groups):
        chunk = metadata.row_group(group).column(index)
        statistics = chunk.statistics
        if statistics is not None and statistics.has_min_max:
            if not integers_fit_double(statistics.min, statistics.max):
                return False
        elif statistics is None or statistics.null_count != chunk.num_values:
            return False
    return True
