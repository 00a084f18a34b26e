"""The fixed part of every template script; `template.py` fills in the dataset's column lists."""

from string import Template

SCRIPT_SKELETON = Template('''\
"""ETL script for the dataset '$dataset', rendered by etl_assets $generator_version; do not edit by hand.

Run: python THIS_FILE [--window KEY] --input IN.parquet --output OUT.parquet [...]
The --input/--output pair repeats, one per window (with --window, its key), so one process and one DuckDB
database serve a range. Streams each upload Parquet through DuckDB within MEMORY_LIMIT, cleans and types its columns, writes only
its OUT.parquet and reports its row counts through Dagster Pipes (or prints them as JSON, one line per pair, when run on its own).
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dagster_pipes import DAGSTER_PIPES_CONTEXT_ENV_VAR, open_dagster_pipes

DATASET = $dataset_literal

# The upload columns this script reads, lineage included.
REQUIRED_INPUT_COLUMNS = $required_input_columns

# Step 1, one line per column read from the upload: cleaned, then cast; dirty values become NULL.
TYPED_COLUMNS = $typed_columns

# Step 2, the target columns in output order; expressions see the typed values of step 1.
OUTPUT_COLUMNS = $output_columns

LINEAGE_COLUMNS = $lineage_columns
SOURCE_FILE, SOURCE_ROW, ARRIVED_AT = LINEAGE_COLUMNS

# Rows sharing these keys keep only the latest arrival; a row with a NULL key is never a duplicate.
DEDUPLICATE_ON = $deduplicate_on
LATEST_FIRST = f"{ARRIVED_AT} DESC, {SOURCE_FILE} DESC, {SOURCE_ROW} DESC"
# The output is written this many rows at a time, so it is never held whole beside the input.
OUTPUT_BATCH_ROWS = 100_000
# Only a column whose first batch has at most this share of distinct values is dictionary-encoded: a dictionary
# for an id, an amount or free text would be built only to be given up.
DICTIONARY_MAX_DISTINCT_SHARE = 0.5
# DuckDB's memory before it spills to disk, so a window of any size fits a worker; the variable overrides it.
MEMORY_LIMIT = $memory_limit_literal
MEMORY_LIMIT_VARIABLE = $memory_variable_literal


def shaped_query() -> str:
    """The rows cleaned, typed and computed, as the CTEs `typed` and `shaped`."""
    typed = ",\\n    ".join(TYPED_COLUMNS + LINEAGE_COLUMNS)
    shaped = ",\\n    ".join(OUTPUT_COLUMNS + LINEAGE_COLUMNS)
    return f"WITH typed AS (\\n  SELECT\\n    {typed}\\n  FROM source\\n),\\nshaped AS (\\n  SELECT\\n    {shaped}\\n  FROM typed\\n)\\n"


def build_query(deduplicate: bool = True) -> str:
    """The one SELECT that cleans, types, computes and (when asked and keys are set) deduplicates the rows.

    The rows keep the upload's order: DuckDB keeps it through a scan and its expressions; ranking does not, so
    deduplicated rows are sorted back into it (a sort that every other window is spared).
    """
    query = shaped_query() + "SELECT * FROM shaped\\n"
    if DEDUPLICATE_ON and deduplicate:
        keys = ", ".join(DEDUPLICATE_ON)
        any_key_null = " OR ".join(f"{key} IS NULL" for key in DEDUPLICATE_ON)
        query += f"QUALIFY {any_key_null} OR ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {LATEST_FIRST}) = 1\\n"
        query += f"ORDER BY {SOURCE_FILE}, {SOURCE_ROW}"
    return query


def has_duplicates(connection) -> bool:
    """Whether two rows share the deduplication keys: most windows have none and skip ranking every row."""
    if not DEDUPLICATE_ON:
        return False
    keys = ", ".join(DEDUPLICATE_ON)
    all_keys = " AND ".join(f"{key} IS NOT NULL" for key in DEDUPLICATE_ON)
    found = connection.execute(
        shaped_query() + f"SELECT 1 FROM shaped WHERE {all_keys} GROUP BY {keys} HAVING count(*) > 1 LIMIT 1"
    ).fetchall()
    return bool(found)


def sandboxed_database(inputs: list):
    """One DuckDB database for every pair of the run (each new database costs DuckDB's start-up, some 20 ms): within
    MEMORY_LIMIT, and its SQL may read the run's input files only: no other file, no extension, no network."""
    # Past MEMORY_LIMIT DuckDB spills to a folder of its own (created on need, removed on close).
    spill = os.path.join(tempfile.gettempdir(), f"etl-script-{os.getpid()}-{os.urandom(8).hex()}")
    memory_limit = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip() or MEMORY_LIMIT
    database = duckdb.connect(":memory:", config={"memory_limit": memory_limit, "temp_directory": spill})
    database.execute("SET GLOBAL TimeZone = 'UTC'")
    database.execute(f"SET allowed_paths = [{', '.join(sql_text(str(path)) for path in inputs)}]")
    database.execute("SET enable_external_access = false")
    database.execute("SET lock_configuration = true")
    return database


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def transform(input_path: Path, output_path: Path, database) -> dict:
    """Write the transformed rows of input_path to output_path, in a cursor of `database` (sandboxed_database), and
    return the row counts."""
    present = pq.read_schema(input_path).names
    missing = [name for name in REQUIRED_INPUT_COLUMNS if name not in present]
    rows_in = pq.ParquetFile(input_path).metadata.num_rows
    if missing and rows_in:
        sys.exit(f"{input_path} lacks the columns {missing} that the {DATASET} script reads; regenerate the script.")
    # A window no file arrived for has no columns: they read as NULL text, so its output has the range's types.
    absent = "".join(', NULL::VARCHAR AS "' + name.replace('"', '""') + '"' for name in missing)
    # a cursor's temp view is its own: each pair reads only its input through `source`
    with database.cursor() as connection:
        # DuckDB reads the input as it goes, only the columns the query uses: the window is never held whole.
        connection.execute(f"CREATE TEMP VIEW source AS SELECT *{absent} FROM read_parquet({sql_text(str(input_path))})")
        relation = connection.sql(build_query(deduplicate=has_duplicates(connection)))
        json_positions = [position for position, kind in enumerate(relation.types) if str(kind) == "JSON"]
        rows_out = write_atomically(relation.to_arrow_reader(OUTPUT_BATCH_ROWS), json_positions, output_path)
    return {
        "rows_in": rows_in,
        "rows_out": rows_out,
        "rows_deduplicated": rows_in - rows_out,
    }


def output_schema(schema, positions: list[int], json_type):
    """DuckDB hands JSON columns over as plain text; Arrow's JSON type keeps them JSON in the Parquet output."""
    for position in positions:
        schema = schema.set(position, schema.field(position).with_type(json_type))
    return schema


def arrow_json_type():
    # DuckDB exports its JSON type as Arrow's only when told to keep every type, which would also change others
    with duckdb.connect(":memory:") as types:
        types.execute("SET arrow_lossless_conversion = true")
        return types.sql("SELECT NULL::JSON").to_arrow_table().schema.field(0).type


def write_atomically(reader, json_positions: list[int], output_path: Path) -> int:
    """Write the rows batch by batch beside the output, then rename, so no reader ever sees half a file."""
    json_type = arrow_json_type() if json_positions else None
    handle, temp_name = tempfile.mkstemp(dir=output_path.parent, prefix=f".{output_path.name}.", suffix=".tmp")
    os.close(handle)
    # mkstemp makes the file private (0600); the output gets what open() would give it under the user's umask
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp_name, 0o666 & ~umask)
    rows = 0
    schema = output_schema(reader.schema, json_positions, json_type)
    writer = None
    try:
        for batch in reader:
            batch = batch.cast(schema) if json_positions else batch
            if writer is None:
                writer = pq.ParquetWriter(temp_name, schema, use_dictionary=repetitive_columns(batch))
            writer.write_batch(batch)
            rows += batch.num_rows
        writer = writer or pq.ParquetWriter(temp_name, schema)
        writer.close()
        os.replace(temp_name, output_path)
    except BaseException:
        if writer is not None:
            writer.close()
        os.unlink(temp_name)
        raise
    return rows


def repetitive_columns(batch):
    """The columns worth a dictionary, judged on the first batch: those whose values repeat, and those Arrow cannot
    count, as before. With nested columns, whose leaves a list of names does not reach, every column keeps one."""
    if any(pa.types.is_nested(field.type) for field in batch.schema):
        return True
    chosen = []
    for name, column in zip(batch.schema.names, batch.columns):
        try:
            repeats = pc.count_distinct(column).as_py() <= DICTIONARY_MAX_DISTINCT_SHARE * len(column)
        except pa.ArrowNotImplementedError:
            repeats = True
        if repeats:
            chosen.append(name)
    return chosen


def main() -> None:
    """Parse the input/output pairs, transform each in order, and report each pair's counts."""
    parser = argparse.ArgumentParser(description=f"ETL script for the dataset {DATASET}.")
    parser.add_argument("--input", type=Path, action="append", required=True, help="repeatable, one per --output")
    parser.add_argument("--output", type=Path, action="append", required=True, help="repeatable, one per --input")
    parser.add_argument("--window", action="append", default=[], help="repeatable: each pair's window key, echoed in its counts")
    args = parser.parse_args()
    if len(args.output) != len(args.input) or (args.window and len(args.window) != len(args.input)):
        parser.error("give one --output, and one --window if any, for each --input, in the same order")
    pairs = list(zip(args.window or [None] * len(args.input), args.input, args.output))
    if DAGSTER_PIPES_CONTEXT_ENV_VAR in os.environ:
        with open_dagster_pipes() as pipes:
            said, since = [], time.monotonic()
            for done, counts in enumerate(transform_each(pairs), 1):
                pipes.report_custom_message(counts)
                said.append(counts)
                # each line costs the run's event log a write: a range's quick windows share one a second
                if time.monotonic() - since >= 1 or done == len(pairs):
                    pipes.log.info(progress_line(said))
                    said, since = [], time.monotonic()
    else:
        for counts in transform_each(pairs):
            print(json.dumps(counts), flush=True)


def progress_line(done: list) -> str:
    """The windows done since the last line: 'orders 2025-01-01: 3 rows in, 3 rows out', or their first to last."""
    first, last = done[0].get("window", ""), done[-1].get("window", "")
    which = first if len(done) == 1 else f"{first} to {last} ({len(done)} windows)"
    rows_in, rows_out = (sum(counts[name] for counts in done) for name in ("rows_in", "rows_out"))
    return f"{DATASET} {which}: {rows_in} rows in, {rows_out} rows out"


def transform_each(pairs: list):
    """Each pair's counts, labelled with its window when one was given; a failure names its window."""
    database = sandboxed_database([input_path for _, input_path, _ in pairs])
    try:
        for window, input_path, output_path in pairs:
            try:
                counts = transform(input_path, output_path, database)
            except Exception as error:
                raise RuntimeError(f"{DATASET} failed on window {window or input_path}: {error}") from error
            yield counts if window is None else {"window": window, **counts}
    finally:
        database.close()


if __name__ == "__main__":
    main()
''')
