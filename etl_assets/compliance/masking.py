"""Masking in the transform: a window's Parquet rewritten with its `mask:` columns hashed or emptied (docs/architecture.md §8).

`hash` writes the keyed token of the value's text (64 hex digits, text whatever the column's type was), `redact`
writes NULL in the column's own type, `none` leaves the value. The rows stay in their order, since a quarantine's
positions file names rows by position, and every other column keeps its type and values. DuckDB computes the masks
while it reads the file, on every core, and hands the rows over batch by batch to a writer in the window's own Arrow
schema (which the load reads its JSON columns from), so a window of any size is one streaming pass. The key travels
only as the query's parameters: it is in no SQL text, error, log line or file metadata.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets import local_duckdb
from etl_assets.compliance.hashing import HashKey, token_sql
from etl_assets.compliance.marks import marked
from etl_assets.config.compliance import MaskMethod
from etl_assets.errors import ConfigError
from etl_assets.excluded_rows import write_excluded
from etl_assets.files import atomic_path
from etl_assets.lake import QualityVerdict, StagePaths
from etl_assets.quality.evaluate import link_or_copy
from etl_assets.range_threads import in_order, parquet_rows
from etl_assets.sql_text import parquet_by_position, position_aliases

# the schema metadata that says a file's columns are masked already, and how: a second pass would hash tokens
MASKED_KEY = b"etl_assets.masked"
# rows handed from DuckDB to the writer at a time
MASK_BATCH_ROWS = 65_536
# what holds a window's load back while its files are not masked yet (shown where failed rules are)
MASKING_UNFINISHED = "pii_masking_unfinished"


def effective_masks(masks: Mapping[str, MaskMethod]) -> dict[str, MaskMethod]:
    """The masks that change something: `none` leaves a column as it is."""
    return {column: method for column, method in masks.items() if method != "none"}


def hold_back_unmasked(stage: StagePaths) -> None:
    """Hold the window's load back until mask_window is done: its script is about to write unmasked rows, and a
    verdict of an earlier run would otherwise let a load read them should this run stop half way."""
    stage.write_verdict(QualityVerdict(blocked_by=(MASKING_UNFINISHED,), load_path=stage.transformed))


def pending_verdict(stage: StagePaths) -> StagePaths:
    """`stage` with its verdict written aside, so the quality rules' verdict takes effect only once the window is
    masked (publish_verdict)."""
    return dataclasses.replace(stage, verdict=stage.verdict.with_name(f".{stage.verdict.name}.unmasked"))


def publish_verdict(pending: StagePaths, stage: StagePaths) -> None:
    """Put the verdict written aside in its place, in one rename: the window may load from now on."""
    os.replace(pending.verdict, stage.verdict)


def mask_windows(stages: Sequence[StagePaths], pending: Sequence[StagePaths], masks: Mapping[str, MaskMethod], key: HashKey | None) -> None:
    """Mask each window's files, then publish its verdict kept aside (`pending`, by pending_verdict), so its load
    reads masked files only; a range of small windows is masked on every core (range_threads.py)."""
    pairs = list(zip(stages, pending, strict=True))
    masked = in_order(lambda pair: mask_window(pair[0], pair[1].read_verdict(), masks, key), pairs, lambda pair: parquet_rows(pair[0].transformed))
    for (stage, aside), _ in zip(pairs, masked):
        publish_verdict(aside, stage)


def mask_window(stage: StagePaths, verdict: QualityVerdict, masks: Mapping[str, MaskMethod], key: HashKey | None) -> None:
    """Mask every file the load or the quarantine table reads of this window: transformed, the kept rows and the
    quarantined ones.

    The kept file is a hard link of transformed (quality/evaluate.py): replacing transformed alone would leave it
    on the unmasked bytes, so the masked file is linked (or copied) in its place, and the quarantine's positions
    file is written again for it, its rows unchanged since the masked file keeps the row order. Each file is replaced
    in one rename; the caller keeps the window's load held back until all of them are done.
    """
    masks = effective_masks(masks)
    if not masks:
        return
    if verdict.quarantine_path is not None and verdict.quarantine_path.exists():
        mask_file(verdict.quarantine_path, masks, key)
    if is_masked(stage.transformed):
        return
    with atomic_path(stage.transformed) as masked:
        write_masked(stage.transformed, masked, masks, key)
        if verdict.load_path != stage.transformed:
            link_or_copy(masked, verdict.load_path)
            if verdict.excluded_rows is not None:
                positions = pq.read_table(verdict.excluded_rows).column("_row")
                write_excluded(verdict.load_path, positions, verdict.excluded_rows)


def mask_file(path: Path, masks: Mapping[str, MaskMethod], key: HashKey | None) -> None:
    """Replace `path` by its masked rows, atomically; a file masked already is left as it is."""
    if is_masked(path):
        return
    with atomic_path(path) as masked:
        write_masked(path, masked, masks, key)


def is_masked(path: Path) -> bool:
    """Whether the file's columns were masked already (a second pass would hash the tokens)."""
    return MASKED_KEY in (pq.read_schema(path).metadata or {})


def write_masked(source: Path, target: Path, masks: Mapping[str, MaskMethod], key: HashKey | None) -> None:
    """Write `source`'s rows, in order, to `target` with `masks` applied. A ConfigError names a masked column the
    file does not have, or a hash mask without a key."""
    masks = effective_masks(masks)
    schema = pq.read_schema(source)
    missing = [column for column in masks if column not in schema.names]
    if missing:
        raise ConfigError(
            f"compliance.mask names column {missing[0]}, which {source.name} does not have, so it cannot be masked; "
            "name a column of the transformed table (its target names)."
        )
    hashing = any(method == "hash" for method in masks.values())
    if hashing and key is None:
        raise ConfigError("compliance.mask hashes a column but no hash key was given; read it with load_hash_key first.")
    masked_schema = _masked_schema(schema, masks)
    aliases = position_aliases(len(schema))
    columns = ", ".join(_masked_expression(alias, masks.get(name)) for alias, name in zip(aliases, schema.names))
    query = f"SELECT {columns} FROM {parquet_by_position(source, 'window_rows', len(schema))}"
    parameters = key.sql_parameters() if hashing and key is not None else {}
    with local_duckdb.connect() as connection:
        reader = connection.sql(query, params=parameters or None).to_arrow_reader(MASK_BATCH_ROWS)
        with pq.ParquetWriter(target, masked_schema) as writer:
            for batch in reader:
                arrays = [column.cast(field.type) for column, field in zip(batch.columns, masked_schema)]
                writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=masked_schema))


def _masked_schema(schema: pa.Schema, masks: Mapping[str, MaskMethod]) -> pa.Schema:
    """The file's schema with hashed columns as text, marked as masked (the columns and methods, never the key)."""
    for name, method in masks.items():
        position = schema.get_field_index(name)
        field = schema.field(position).with_type(pa.string()) if method == "hash" else schema.field(position)
        schema = schema.set(position, marked(field, method))
    marker = json.dumps(dict(sorted(masks.items()))).encode()
    return schema.with_metadata({**(schema.metadata or {}), MASKED_KEY: marker})


def _masked_expression(alias: str, method: MaskMethod | None) -> str:
    if method == "hash":
        return token_sql(alias)
    if method == "redact":
        return "NULL"  # cast back to the column's own type as it is written
    return alias

