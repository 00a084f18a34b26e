"""Drift between a window's profile and the previous window's: columns, types, null rates, distinct and row counts."""

from __future__ import annotations

from etl_assets.profiling.model import ColumnProfile, Drift, DriftFinding, Profile

TINY_COUNT = 10  # counts this small move by large factors from noise alone


def compare_profiles(
    previous: Profile | None, current: Profile, *, null_rate_points: float = 10.0, factor: float = 2.0
) -> Drift:
    """Findings for columns added or removed, changed types, null rates moved by points, counts moved by a factor."""
    if previous is None:
        return Drift([])
    findings = _count_finding("row_count", None, previous.row_count, current.row_count, factor)
    before = {c.name: c for c in previous.columns}
    after = {c.name: c for c in current.columns}
    findings += [DriftFinding("column_added", name, f"new column {name} ({after[name].inferred_type})") for name in after if name not in before]
    findings += [DriftFinding("column_removed", name, f"column {name} is gone") for name in before if name not in after]
    for name in (n for n in after if n in before):
        findings += _column_findings(before[name], previous.row_count, after[name], current.row_count, null_rate_points, factor)
    return Drift(findings)


def _column_findings(
    old: ColumnProfile, old_rows: int, new: ColumnProfile, new_rows: int, points: float, factor: float
) -> list[DriftFinding]:
    findings = []
    if old.inferred_type != new.inferred_type:
        findings.append(DriftFinding("type_changed", new.name, f"type {old.inferred_type} -> {new.inferred_type}"))
    old_rate, new_rate = _null_rate(old, old_rows), _null_rate(new, new_rows)
    if old_rate is not None and new_rate is not None and abs(new_rate - old_rate) > points:
        findings.append(DriftFinding("null_rate", new.name, f"null rate {old_rate:.1f}% -> {new_rate:.1f}%"))
    return findings + _count_finding("distinct_count", new.name, old.distinct_count, new.distinct_count, factor)


def _count_finding(kind: str, column: str | None, old: int, new: int, factor: float) -> list[DriftFinding]:
    if old < TINY_COUNT and new < TINY_COUNT:
        return []
    if new > old * factor or old > new * factor:
        label = kind.replace("_", " ")
        return [DriftFinding(kind, column, f"{label} {old} -> {new} (more than {factor:g}x)")]
    return []


def _null_rate(column: ColumnProfile, rows: int) -> float | None:
    return None if rows == 0 else 100.0 * column.null_count / rows
