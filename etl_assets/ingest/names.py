"""Source headers as snake_case column names that are safe in Parquet, DuckDB and Snowflake."""

from __future__ import annotations

import re
import unicodedata

_ACRONYM_BOUNDARY = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_BOUNDARY = re.compile(r"([a-z0-9])([A-Z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def _snake(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    split = _CAMEL_BOUNDARY.sub(r"\1_\2", _ACRONYM_BOUNDARY.sub(r"\1_\2", ascii_name))
    snake = _NOT_WORD.sub("_", split.lower()).strip("_")
    return f"c_{snake}" if snake[:1].isdigit() else snake


def normalise_column_name(name: str) -> str:
    """`Order ID` -> `order_id`, `GrossAmount` -> `gross_amount`, `naïve` -> `naive`; blank -> `column`."""
    return _snake(name) or "column"


def normalise_column_names(headers: list[str]) -> list[str]:
    """Normalise a header row: blanks become `column_<position>`, repeats get `_2`, `_3`, ..."""
    taken: set[str] = set()
    names = []
    for position, header in enumerate(headers, start=1):
        base = _snake(header) or f"column_{position}"
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(name)
        names.append(name)
    return names
