"""The profile stage's data: a window's profile, its columns and date candidates, and the drift between two profiles.

It imports no other profiling module, so every profiling module can use it and imports run one way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from etl_assets.markdown import markdown_table

JsonScalar = str | int | float | bool | None
PROFILE_ALIGNMENT = ("---", "---", "---:", "---:", "---", "---")


@dataclass(frozen=True)
class ColumnProfile:
    """What one column holds; everything after `max` is descriptive and optional in older profiles."""

    name: str
    physical_type: str
    inferred_type: str
    null_count: int
    distinct_count: int
    min: JsonScalar
    max: JsonScalar
    semantic_type: str | None = None
    empty_count: int = 0
    # above a million rows the distinct count and the quantiles are estimates (HyperLogLog, T-Digest)
    distinct_is_approximate: bool = False
    mean: float | None = None
    stddev: float | None = None
    quantiles: dict[str, JsonScalar] | None = None
    top_values: list[list[JsonScalar]] = field(default_factory=list)
    length: dict[str, float] | None = None
    pattern_sample: list[list[JsonScalar]] = field(default_factory=list)
    histogram: list[list[float]] = field(default_factory=list)


@dataclass(frozen=True)
class DateCandidate:
    """A column that holds dates, with the one format its text parses in (None when stored as a date)."""

    column: str
    format: str | None
    reason: str


@dataclass(frozen=True)
class Profile:
    """What an upload holds, column by column (lineage columns left out), and which columns look like keys or dates."""

    row_count: int
    columns: list[ColumnProfile]
    duplicate_rows: int = 0
    key_candidates: list[list[str]] = field(default_factory=list)
    date_candidates: list[DateCandidate] = field(default_factory=list)
    rejected_date_columns: list[DateCandidate] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls(
            row_count=data["row_count"],
            columns=[ColumnProfile(**column) for column in data["columns"]],
            duplicate_rows=data.get("duplicate_rows", 0),
            key_candidates=data.get("key_candidates", []),
            date_candidates=[DateCandidate(**entry) for entry in data.get("date_candidates", [])],
            rejected_date_columns=[DateCandidate(**entry) for entry in data.get("rejected_date_columns", [])],
        )

    def inferred_types(self) -> dict[str, str]:
        return {column.name: column.inferred_type for column in self.columns}

    def column(self, name: str) -> ColumnProfile:
        return next(column for column in self.columns if column.name == name)

    def to_markdown(self) -> str:
        """A Markdown table: column, type, nulls, distinct, min, max."""
        rows = [[c.name, c.inferred_type, c.null_count, c.distinct_count, c.min, c.max] for c in self.columns]
        return markdown_table(["column", "type", "nulls", "distinct", "min", "max"], rows, align=PROFILE_ALIGNMENT)


@dataclass(frozen=True)
class DriftFinding:
    """One change worth a look; `column` is None for table-level findings."""

    kind: str
    column: str | None
    detail: str


@dataclass(frozen=True)
class Drift:
    """What changed since the previous window's profile."""

    findings: list[DriftFinding]

    @property
    def has_drift(self) -> bool:
        return bool(self.findings)

    def to_markdown(self) -> str:
        if not self.findings:
            return "No drift against the previous window."
        return markdown_table(["kind", "column", "detail"], [[f.kind, f.column, f.detail] for f in self.findings])
