"""Markdown tables, the form Dagster's UI shows metadata and the demo prints its summary in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, align: Sequence[str] | None = None) -> str:
    """A table with one line per row; `align` gives each column's alignment, `---:` for numbers, default left."""
    lines = ["| " + " | ".join(header) + " |", "|" + "".join(f"{rule}|" for rule in (align or ["---"] * len(header)))]
    lines += ["| " + " | ".join(markdown_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_cell(value: Any) -> str:
    """A value on one line of a table: None empty, booleans in lower case, pipes escaped."""
    if value is None:
        return ""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")
