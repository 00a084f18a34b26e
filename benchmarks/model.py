"""What a scenario reports: one table, its targets as pass/miss, and notes on where the time goes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Target:
    goal: str
    passed: bool
    measured: str


@dataclass
class Section:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
