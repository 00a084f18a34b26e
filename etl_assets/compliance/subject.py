"""The subject of an erasure: one value of one target column, in each form the pipeline keeps it (docs/architecture.md §8).

The table and the files derived from the transform hold the value as the transform wrote it: after the column's
`apply` text functions, and as a token when the column is masked with `hash`. The uploads and the archive hold the
source column's original text, which matches once the same `apply` functions run on it. The value itself is kept
in memory only: no message, repr or record of this module names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from etl_assets.compliance.hashing import HashKey
from etl_assets.config.models import DatasetConfig
from etl_assets.errors import EtlAssetsError
from etl_assets.ingest.names import normalise_column_name

# DuckDB's TRIM, as the transform runs it, takes away spaces only
TRIMMED = " "


class ErasureError(EtlAssetsError):
    """An erasure that cannot be done as asked; nothing was changed."""


@dataclass(frozen=True)
class Subject:
    """Whose rows to erase: `column` of the table equal to `table_value`; `source_column` of the uploads (None for a
    column computed by `expr`) equal to `source_value` once `apply` runs on it."""

    column: str
    table_value: str = field(repr=False)
    source_column: str | None
    source_value: str = field(repr=False)
    apply: tuple[str, ...] = ()
    hashed: bool = False

    def in_table_values(self, values: pa.Array | pa.ChunkedArray) -> pa.BooleanArray:
        """Which of a derived file's values (transformed, loadable, quarantine) are the subject's."""
        return _equal(_as_text(values), self.table_value)

    def in_source_values(self, values: pa.Array | pa.ChunkedArray) -> pa.BooleanArray:
        """Which of an upload's original values are the subject's."""
        return _equal(applied_array(_as_text(values), self.apply), self.source_value)

    def is_source_text(self, text: str | None) -> bool:
        """Whether one original value (a field of an archived file) is the subject's."""
        return text is not None and applied_text(text, self.apply) == self.source_value

    def mentioned_in(self, raw: str) -> bool:
        """Whether raw text (a reject's line, a stretch of an archived file) may hold the subject's value: its text
        after the column's case function holds the value; a line that does not is left as it is."""
        return self.source_value in _cased(raw, self.apply)


def subject_for(dataset: DatasetConfig, column: str, value: str, key: HashKey | None) -> Subject:
    """The subject `column=value` of `dataset`, refused for an unknown or redacted column and for a hashed one
    without its key."""
    columns = dataset.transform.columns if dataset.transform is not None else {}
    if columns and column not in columns:
        raise ErasureError(
            f"Dataset '{dataset.name}' has no column '{column}'; erase by one of its table's columns: {', '.join(columns)}."
        )
    mask = dataset.compliance.mask.get(column, "none")
    if mask == "redact":
        raise ErasureError(
            f"The column '{column}' of dataset '{dataset.name}' is redacted (the table holds NULL there), so no row can "
            "be found by it; erase by another column of the same person, such as a customer id."
        )
    spec = columns.get(column)
    apply = tuple(spec.apply) if spec is not None else ()
    normalised = applied_text(value, apply)
    if mask == "hash" and key is None:
        raise ErasureError(f"The column '{column}' of dataset '{dataset.name}' is hashed, and its hash key is needed to find the rows.")
    table_value = key.token(normalised) if mask == "hash" and key is not None else normalised
    if spec is not None and spec.expr is not None:
        source = None
    else:
        source = normalise_column_name(spec.from_) if spec is not None and spec.from_ else column
    return Subject(column, table_value, source, normalised, apply, hashed=mask == "hash")


def applied_text(text: str, apply: Sequence[str]) -> str:
    """`text` after the `apply` functions, in order, as the transform runs them."""
    for function in apply:
        text = text.strip(TRIMMED) if function == "trim" else text.lower() if function == "lower" else text.upper()
    return text


def applied_array(values: pa.Array | pa.ChunkedArray, apply: Sequence[str]) -> pa.Array | pa.ChunkedArray:
    for function in apply:
        if function == "trim":
            values = pc.utf8_trim(values, characters=TRIMMED)
        else:
            values = pc.utf8_lower(values) if function == "lower" else pc.utf8_upper(values)
    return values


def _cased(text: str, apply: Sequence[str]) -> str:
    """`text` under the last case function of `apply` (trimming does not change what a stretch of text contains)."""
    cases = [function for function in apply if function != "trim"]
    if not cases:
        return text
    return text.lower() if cases[-1] == "lower" else text.upper()


def _as_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    return pc.cast(values, pa.string())


def _equal(values: pa.Array | pa.ChunkedArray, wanted: str) -> pa.BooleanArray:
    return pc.fill_null(pc.equal(values, pa.scalar(wanted, values.type)), False)
