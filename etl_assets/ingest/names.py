"""Source headers as snake_case column names that are safe in Parquet, DuckDB and Snowflake."""

from __future__ import annotations

import re
import unicodedata

from etl_assets.config.columns import RESERVED_COLUMNS

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
    return made_unique([_snake(header) or f"column_{position}" for position, header in enumerate(headers, start=1)])


def made_unique(names: list[str], taken: set[str] | None = None) -> list[str]:
    """Names with `_2`, `_3`... added where one repeats an earlier name or one of `taken`."""
    taken = set() if taken is None else set(taken)
    unique = []
    for base in names:
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(name)
        unique.append(name)
    return unique


def rename_reserved(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Names the pipeline adds itself get a `source_` prefix (made unique); returns the names and new -> old."""
    reserved = [name for name in names if name in RESERVED_COLUMNS]
    new_names = made_unique([f"source_{name.lstrip('_')}" for name in reserved], taken=set(names))
    replacements = dict(zip(reserved, new_names, strict=True))
    return [replacements.get(name, name) for name in names], {new: old for old, new in replacements.items()}
