"""references: every non-null value of the column exists as `key` in another dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pyarrow as pa

from etl_assets.quality.rule_types.base import DatasetFacts, Problem, RowRuleType, RuleBase
from etl_assets.quality.sql import type_family
from etl_assets.quality.window import ReferenceData, RowFlag, Window
from etl_assets.sql_text import literal, quote_identifier


class ReferencesRule(RuleBase):
    """Every non-null value of `column` must exist as `key` in another dataset."""

    rule: Literal["references"]
    column: str
    dataset: str
    key: str


class References(RowRuleType[ReferencesRule]):
    model = ReferencesRule

    def demands(self) -> str:
        return f"{self.rule.column} exists in {self.rule.dataset}.{self.rule.key}"

    def own_problems(self, dataset: DatasetFacts) -> list[Problem]:
        if self.rule.dataset in dataset.dataset_names:
            return []
        known = ", ".join(sorted(dataset.dataset_names))
        return [("dataset", f"no dataset named {self.rule.dataset!r}; use one of {known}.")]

    def row_flag(self, window: Window) -> RowFlag:
        rule, column, column_type = self.rule, window.column(self.rule.column), window.types[self.rule.column]
        view = _reference_view(window, window.references.get((rule.dataset, rule.key)))
        if view is None:
            return RowFlag(f"{column} IS NOT NULL", f"no data of {rule.dataset} to check against, so every value fails")
        key_types = {name: kind for name, kind, *_ in window.connection.execute(f"DESCRIBE SELECT * FROM {view}").fetchall()}
        if rule.key not in key_types:
            return RowFlag(f"{column} IS NOT NULL", f"{rule.dataset} has no column {rule.key}, so every value fails")
        key_type = key_types[rule.key]
        if type_family(column_type) != type_family(key_type) or (type_family(key_type) == "other" and column_type != key_type):
            return RowFlag("false", (
                f"{rule.column} holds {column_type} but {rule.dataset}.{rule.key} holds {key_type}, so they cannot be compared; "
                "give both the same type in transform.columns."
            ))
        key = quote_identifier(rule.key)
        return RowFlag(f"{column} IS NOT NULL AND {column} NOT IN (SELECT {key} FROM {view} WHERE {key} IS NOT NULL)")


def _reference_view(window: Window, data: ReferenceData | None) -> str | None:
    """A view on the window's connection over the other dataset's keys, or None when there are none to read."""
    files = [data] if isinstance(data, Path) else data
    if data is None or (isinstance(files, list) and not files):
        return None
    view = window.view_name("reference")
    if isinstance(data, pa.Table):
        window.connection.register(view, data)
    else:
        paths = ", ".join(literal(str(path)) for path in files)
        window.connection.execute(f"CREATE TEMP VIEW {view} AS SELECT * FROM read_parquet([{paths}], union_by_name = true)")
    return view
