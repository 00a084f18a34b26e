"""What the model is told: the transform spec, the requirements, the script contract and the profile's columns.

Sample values go into the prompt only with `llm.share_samples: true`: uploads can hold personal data.
"""

from __future__ import annotations

import json
import re

from etl_assets.config.columns import LINEAGE_COLUMNS
from etl_assets.column_types import normalised_type
from etl_assets.config.models import ColumnSpec, DatasetConfig
from etl_assets.ingest.names import normalise_column_name
from etl_assets.profiling.model import Profile
from etl_assets.scriptgen.llm import Message
from etl_assets.scriptgen.policy import ALLOWED_MODULES

SAMPLE_VALUES = 5
CODE_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)

# The script every reply must be: the harness stays as it is, the model writes shape() (and helpers it needs).
CONTRACT_SCAFFOLD = '''\
import argparse
import json

import duckdb
import pyarrow.parquet as pq
from dagster_pipes import open_dagster_pipes

BATCH_ROWS = 100_000


def shape(connection, source):
    """The transformed rows of `source` (a DuckDB relation over the input Parquet) as a DuckDB relation."""
    ...  # write this: clean, type and compute the target columns; keep the lineage columns as they are


def transform(input_path, output_path, connection):
    source = connection.read_parquet(str(input_path))
    rows_in = pq.ParquetFile(input_path).metadata.num_rows
    reader = shape(connection, source).to_arrow_reader(BATCH_ROWS)
    rows_out = 0
    with pq.ParquetWriter(str(output_path), reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows_out += batch.num_rows
    return {"rows_in": rows_in, "rows_out": rows_out}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", action="append", required=True)
    parser.add_argument("--output", action="append", required=True)
    parser.add_argument("--window", action="append", default=[])
    args = parser.parse_args()
    windows = args.window or [None] * len(args.input)
    connection = duckdb.connect(":memory:")
    # DuckDB's SQL may read the inputs and nothing else: no other file, no extension, no network
    inputs = ", ".join("'" + str(path).replace("'", "''") + "'" for path in args.input)
    connection.execute(f"SET allowed_paths = [{inputs}]")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")
    with open_dagster_pipes() as pipes:
        for window, input_path, output_path in zip(windows, args.input, args.output):
            counts = transform(input_path, output_path, connection)
            counts = counts if window is None else {"window": window, **counts}
            pipes.report_custom_message(counts)
            print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
'''

SYSTEM = f"""You write one Python ETL script for a data platform. Reply with the whole script in one ```python block and
nothing else. The script must keep the harness below unchanged (argparse with repeatable --input/--output/--window,
one DuckDB connection, Dagster Pipes reporting of each pair's counts, the output written batch by batch) and fill in
shape(). It must stream: read the input through DuckDB over the Parquet, never load it whole into pandas.
Rules it is checked against before it runs: import only {", ".join(sorted(ALLOWED_MODULES - {"__future__"}))};
no exec, eval, compile, __import__, globals, getattr with computed or private names, no dunder attributes, no os, sys,
subprocess, socket, pathlib or file access other than the input and output paths. It runs with no network, a time and
a memory limit, and may write only its output file. Values that do not fit a target type become NULL (TRY_CAST),
never an error, and never a changed value: keep leading zeros of text, and every letter as it is.

The harness:
```python
{CONTRACT_SCAFFOLD}```"""


def first_messages(dataset: DatasetConfig, profile: Profile) -> list[Message]:
    """The conversation that asks for the dataset's script."""
    return [Message("system", SYSTEM), Message("user", request_text(dataset, profile))]


def repair_messages(conversation: list[Message], reply: str, problem: str) -> list[Message]:
    """The conversation so far, the faulty reply, and what was wrong with it."""
    return [
        *conversation,
        Message("assistant", reply),
        Message("user", f"That script cannot be used:\n{problem}\nReply with the whole corrected script in one ```python block."),
    ]


def request_text(dataset: DatasetConfig, profile: Profile) -> str:
    transform = dataset.transform
    share = transform is not None and transform.llm.share_samples
    parts = [f"Dataset: {dataset.name}" + (f" ({dataset.description})" if dataset.description else "")]
    parts.append(f"Requirements: {transform.requirements}" if transform and transform.requirements else "Requirements: none beyond the target columns.")
    if transform is not None and transform.columns:
        names = {column.name for column in profile.columns}
        spec = {name: _spec_of(name, column, names) for name, column in transform.columns.items()}
        parts.append("Target columns, in this order, each with its type (`from`: the source column; `expr`: computed from target columns; `apply`: text clean-ups in order):\n" + json.dumps(spec, indent=1))
    else:
        parts.append("Target columns: every source column below, with the type given, named as the source names it.")
    if transform is not None and transform.deduplicate_on:
        parts.append(f"Deduplicate on {transform.deduplicate_on}: keep the row with the latest {LINEAGE_COLUMNS[2]}, then the highest {LINEAGE_COLUMNS[1]}.")
    parts.append(f"Keep the lineage columns {', '.join(LINEAGE_COLUMNS)} unchanged, after the target columns.")
    parts.append(f"Source columns (from the window's profile of {profile.row_count} rows):\n" + "\n".join(column_line(column, profile.row_count, share) for column in profile.columns))
    return "\n\n".join(parts)


def _spec_of(name: str, column: ColumnSpec, upload_columns: set[str]) -> dict:
    """A target column's spec as the model needs it: `from` names the column as the upload holds it (the upload
    stage writes headers in snake case: `Order ID` is `order_id`), and a column without `from` or `expr` reads
    the source column of its own name."""
    spec = column.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    source = column.from_ if column.from_ is not None else (None if column.expr is not None else name)
    if source is not None:
        spec["from"] = source if source in upload_columns else normalise_column_name(source)
    spec["type"] = normalised_type(column.type)
    return spec


def column_line(column, rows: int, share_samples: bool) -> str:
    """One source column as the model sees it: name, types, null share and distinct count; values only when shared."""
    nulls = f"{column.null_count / rows:.1%}" if rows else "n/a"
    line = f"- {column.name!r}: stored {column.physical_type}, looks like {column.inferred_type}"
    line += f", semantic {column.semantic_type}" if column.semantic_type else ""
    line += f", nulls {nulls}, distinct {column.distinct_count}"
    # a column of unique values has no top values: its lowest and highest stand in for it
    samples = [value for value, _ in column.top_values[:SAMPLE_VALUES]] or [v for v in (column.min, column.max) if v is not None]
    if share_samples and samples:
        line += f", e.g. {json.dumps(samples, default=str)}"
    return line


def code_of(reply: str) -> str:
    """The script in a reply: its first ```python block, or the whole reply when it has none."""
    found = CODE_BLOCK.search(reply)
    return (found[1] if found else reply).strip() + "\n"
