"""What every rule type has: the config fields all rules share (RuleBase), and the behaviour each provides (RuleType),
so the evaluator, the validator and the check names never ask which rule it is.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import model_validator

from etl_assets.config.base import StrictModel
from etl_assets.config.columns import LINEAGE_TYPES
from etl_assets.quality.window import RowFlag, Verdict, Window, WindowFacts

Severity = Literal["error", "warn"]
RuleAction = Literal["fail", "quarantine"]
RuleValue = int | float | dt.datetime | dt.date | str
DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class RuleBase(StrictModel):
    """What every quality rule has: how bad a failure is, and what happens to failing rows."""

    # Row-level rules flag individual rows, so only they can quarantine.
    row_level: ClassVar[bool] = True

    rule: str
    severity: Severity = "error"
    action: RuleAction = "fail"
    description: str | None = None

    @model_validator(mode="after")
    def _quarantine_needs_rows(self) -> RuleBase:
        if self.action == "quarantine" and not self.row_level:
            raise ValueError(
                f"action 'quarantine' needs a row-level rule, and {self.rule} checks the whole window; use action: fail"
            )
        return self


RuleT = TypeVar("RuleT", bound=RuleBase)
# (the field of the rule it is about, such as `pattern`; one sentence saying what is wrong and what to do)
Problem = tuple[str, str]


@dataclass(frozen=True)
class DatasetFacts:
    """What `etl-assets validate` knows when it checks a rule: the transform's column types and the datasets."""

    # None when the transform declares no columns, so the window's columns are not known before it runs
    declared: Mapping[str, str] | None
    dataset_names: set[str]

    @property
    def types(self) -> dict[str, str] | None:
        """Each known column's type in the vocabulary of transform.columns, lineage columns included."""
        return None if self.declared is None else {**self.declared, **LINEAGE_TYPES}


class RuleType(ABC, Generic[RuleT]):
    """One rule type's behaviour over its parsed config `rule` (the pydantic model named by `model`)."""

    model: ClassVar[type[RuleBase]]

    def __init__(self, rule: RuleT) -> None:
        self.rule = rule

    def columns(self) -> list[str]:
        """The window's columns the rule looks at: its one `column`, for every rule type that does not say otherwise."""
        return [self.rule.column]  # type: ignore[attr-defined]

    @abstractmethod
    def demands(self) -> str:
        """One line saying what the rule demands."""

    def check_name(self) -> str:
        """`<rule>_<column>`, columns joined by `_`."""
        return "_".join([self.rule.rule, *self.columns()])

    def describe(self) -> str:
        return self.rule.description or self.demands()

    def column_field(self) -> str:
        """The rule's field that names its columns, where a problem with one of them is reported."""
        return "column"

    def problems(self, dataset: DatasetFacts) -> list[Problem]:
        """Mistakes `etl-assets validate` reports before anything runs: unknown columns, then the rule's own."""
        return [*self._unknown_columns(dataset), *self.own_problems(dataset)]

    def own_problems(self, dataset: DatasetFacts) -> list[Problem]:
        return []

    def _unknown_columns(self, dataset: DatasetFacts) -> list[Problem]:
        if dataset.declared is None:
            return []
        declared = ", ".join(sorted(dataset.declared))
        return [
            (self.column_field(), f"unknown column {column!r}; the transform declares {declared}.")
            for column in self.columns()
            if column not in dataset.declared and column not in LINEAGE_TYPES
        ]


class RowRuleType(RuleType[RuleT]):
    """A rule that flags failing rows, so its failures can be counted, shown and quarantined row by row."""

    @abstractmethod
    def row_flag(self, window: Window) -> RowFlag:
        """A SQL boolean over the window's row that is true where the row fails; every column it names exists."""

    def allowed_percent(self) -> float:
        """The share of rows that may fail while the rule still passes."""
        return 0.0


class WindowRuleType(RuleType[RuleT]):
    """A rule that judges the window as a whole."""

    def aggregate(self, window: Window) -> str | None:
        """A SQL aggregate over the window's rows whose value `verdict` needs, computed in one scan with the others."""
        return None

    @abstractmethod
    def verdict(self, facts: WindowFacts, aggregate: Any) -> Verdict:
        """The judgement on the window; `aggregate` is the value of `aggregate`'s SQL, or None."""
