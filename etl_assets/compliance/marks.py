"""How a masked column is marked in a Parquet schema, so later steps (the load's schema sync) can tell a hashed
column from one the transform typed as text (docs/architecture.md §8)."""

from __future__ import annotations

import pyarrow as pa

# field metadata of a masked column: its method, `hash` or `redact`
MASK_FIELD_KEY = b"etl_assets.mask"


def marked(field: pa.Field, method: str) -> pa.Field:
    """`field` marked as masked with `method`."""
    return field.with_metadata({**(field.metadata or {}), MASK_FIELD_KEY: method.encode()})


def mask_of(field: pa.Field) -> str | None:
    """The mask a column was written with, or None."""
    value = (field.metadata or {}).get(MASK_FIELD_KEY)
    return value.decode() if value is not None else None
