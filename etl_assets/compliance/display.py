"""What is shown of personal data: counts, lengths and shapes, never a value (docs/architecture.md §8).

Every place that shows a column's values (the profile report, the profile and upload metadata, previews, the
examples of quality checks) passes them through here, so a PII column is hidden the same way everywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from etl_assets.profiling.model import ColumnProfile, Profile

HIDDEN = "***"


def masked_profile(profile: Profile, pii_source_columns: Collection[str]) -> Profile:
    """The profile with every value of the named columns hidden: min, max, mean, stddev, quantiles, top values and
    histogram bounds become `***`; counts, lengths, types and value shapes (letters and digits as their class) stay."""
    if not pii_source_columns:
        return profile
    columns = [_masked_column(column) if column.name in pii_source_columns else column for column in profile.columns]
    return dataclasses.replace(profile, columns=columns)


def masked_rows(header: Sequence[str], rows: Sequence[Sequence[Any]], hidden: Collection[str]) -> list[list[Any]]:
    """Table rows (a preview) with the cells of the `hidden` columns shown as `***` (NULL stays empty)."""
    positions = {index for index, name in enumerate(header) if name in hidden}
    return [[_hidden(value) if index in positions else value for index, value in enumerate(row)] for row in rows]


def masked_records(records: Sequence[Mapping[str, Any]], hidden: Collection[str]) -> list[dict[str, Any]]:
    """Rows as dicts (check examples) with the values of the `hidden` columns shown as `***`."""
    return [{name: _hidden(value) if name in hidden else value for name, value in record.items()} for record in records]


def masked_text(text: str) -> str:
    """A whole line of a file (a rejected row), shown only by its length."""
    return f"{HIDDEN} ({len(text)} characters)"


def masked_shape(shape: str) -> str:
    """A value shape with no character of the value left: the profiler stands ASCII letters and digits in for their
    class (a, A, 9), and the others (é, ß, ٣) are made so too."""
    return "".join(_class_of(character) for character in shape)


def _masked_column(column: ColumnProfile) -> ColumnProfile:
    return dataclasses.replace(
        column,
        min=_hidden(column.min),
        max=_hidden(column.max),
        mean=_hidden(column.mean),
        stddev=_hidden(column.stddev),
        quantiles={name: _hidden(value) for name, value in column.quantiles.items()} if column.quantiles else column.quantiles,
        top_values=[[HIDDEN, count] for _, count in column.top_values],
        histogram=[[HIDDEN, HIDDEN, count] for *_, count in column.histogram],
        pattern_sample=[[masked_shape(str(shape)), count] for shape, count in column.pattern_sample],
    )


def _hidden(value: Any) -> Any:
    return None if value is None else HIDDEN


def _class_of(character: str) -> str:
    if character.isdigit():
        return "9"
    if character.isalpha():
        return "A" if character.isupper() else "a"
    return character
