"""Which columns of a dataset hold personal data, for one window, and why (docs/architecture.md §8).

A column is PII when `compliance.pii` or `compliance.mask` names it (declared), or, with `auto_detect_pii`, when
the window's profile recognises its values as emails, phone numbers or people's names. The profile is of the
upload, whose columns are the source's; the config names the transformed table's columns (the target's). Each
PII column is known by both names, so the upload's report and metadata hide the same column the table tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.config.compliance import MaskMethod
from etl_assets.config.models import DatasetConfig
from etl_assets.ingest.names import normalise_column_name
from etl_assets.profiling.model import Profile
from etl_assets.profiling.profiler import profile_parquet, read_profile
from etl_assets.scriptgen.template import passthrough_column_name

# the semantic types (profiling/semantics.py) that make a column PII under auto_detect_pii
DETECTED_KINDS = ("email", "phone", "person_name")
DECLARED = "declared"
# the rows of an upload profiled for its own metadata (upload_pii), its preview's among them
HEAD_ROWS = 1_000


@dataclass(frozen=True)
class PiiColumn:
    """One column of personal data: its name in the upload and in the table, what it holds, and its mask."""

    # the upload's column it comes from; None for a column the transform computes (`expr`)
    source: str | None
    # the transformed table's column; None for an upload column the transform leaves out
    target: str | None
    # email, phone or person_name when the profile recognises it, else `declared`
    kind: str
    mask: MaskMethod
    declared: bool

    @property
    def tags(self) -> dict[str, str]:
        """Its tags in Dagster's column schema."""
        return {"pii": self.kind, "mask": self.mask}

    @property
    def comment(self) -> str:
        """Its comment on the Snowflake column."""
        return f"pii: {self.kind}; mask: {self.mask}"


@dataclass(frozen=True)
class PiiColumns:
    """A window's PII columns, each once, in table order."""

    columns: tuple[PiiColumn, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.columns)

    @property
    def by_target(self) -> dict[str, PiiColumn]:
        return {column.target: column for column in self.columns if column.target is not None}

    @property
    def by_source(self) -> dict[str, PiiColumn]:
        return {column.source: column for column in self.columns if column.source is not None}


def pii_columns(dataset: DatasetConfig, profile: Profile | None) -> PiiColumns:
    """The dataset's PII columns for a window with this profile of its upload (None: the declared ones only)."""
    compliance = dataset.compliance
    declared = compliance.declared_pii
    kinds = {column.name: column.semantic_type for column in profile.columns} if profile is not None else {}
    found: dict[tuple[str | None, str | None], PiiColumn] = {}
    for source, target in column_pairs(dataset, list(kinds) if profile is not None else None):
        kind = kinds.get(source or "")
        detected = compliance.auto_detect_pii and kind in DETECTED_KINDS
        if target in declared or detected:
            mask = compliance.mask.get(target or "", "none")
            found[(source, target)] = PiiColumn(source, target, kind if kind in DETECTED_KINDS else DECLARED, mask, target in declared)
    targets = {column.target for column in found.values()}
    for name in declared:
        if name not in targets:  # declared, but made by no column the profile saw
            found[(None, name)] = PiiColumn(None, name, DECLARED, compliance.mask.get(name, "none"), True)
    return PiiColumns(tuple(found.values()))


def window_pii(dataset: DatasetConfig, profile_path: Path) -> PiiColumns:
    """The PII columns of a window whose profile was written to `profile_path` (declared ones only without it); a
    dataset that cannot hold any costs no read."""
    if not may_hold_pii(dataset):
        return PiiColumns()
    return pii_columns(dataset, read_profile(profile_path) if profile_path.exists() else None)


def table_pii(dataset: DatasetConfig, profile_paths: Iterable[Path]) -> dict[str, PiiColumn]:
    """The table's PII columns over a run's windows (their profiles' paths), by table column: what the table's
    labels say. A column is PII when it is in any window; the first window that finds it says what it holds."""
    found: dict[str, PiiColumn] = {}
    for path in profile_paths:
        for name, column in window_pii(dataset, path).by_target.items():
            if name not in found or found[name].kind == DECLARED:
                found[name] = column
    return found


def upload_pii(dataset: DatasetConfig, upload: Path) -> PiiColumns:
    """The PII columns of a window's upload before its profile exists, for the upload's own metadata: the declared
    ones and, with auto_detect_pii, those the profile of its first HEAD_ROWS rows recognises (the preview's among
    them). Those rows are profiled from a file beside the upload, in the lake, where the originals are anyway."""
    first = next(pq.ParquetFile(upload).iter_batches(batch_size=HEAD_ROWS), None) if dataset.compliance.auto_detect_pii else None
    if first is None:
        return pii_columns(dataset, None)
    head = upload.with_name(f".{upload.name}.head")  # no .parquet suffix: no glob of the lake picks it up
    try:
        pq.write_table(pa.Table.from_batches([first]), head)
        return pii_columns(dataset, profile_parquet(head))
    finally:
        head.unlink(missing_ok=True)


def may_hold_pii(dataset: DatasetConfig) -> bool:
    """Whether any column of the dataset may be PII: some are declared, or the profile is asked to find them."""
    return bool(dataset.compliance.declared_pii) or dataset.compliance.auto_detect_pii


def column_pairs(dataset: DatasetConfig, source_names: list[str] | None) -> list[tuple[str | None, str | None]]:
    """(upload column, table column) pairs, through `transform.columns` (`from`, written as the header or as the
    upload's name for it) or, without them, the names the template gives the columns it passes through. A computed
    column has no upload column, an upload column the transform leaves out no table column. Without the upload's
    names (`source_names` None) a copied column's upload name is the one the upload gives its header.
    """
    declared = dataset.transform.columns if dataset.transform is not None else {}
    if not declared:
        if source_names is None:
            return [(name, name) for name in dataset.compliance.declared_pii]
        return [(name, passthrough_column_name(name)) for name in source_names]
    pairs: list[tuple[str | None, str | None]] = []
    for target, spec in declared.items():
        wanted = spec.from_ or target
        if spec.expr is not None:
            pairs.append((None, target))
        elif source_names is None:
            pairs.append((normalise_column_name(wanted), target))
        else:
            pairs.append((next((name for name in (wanted, normalise_column_name(wanted)) if name in source_names), None), target))
    used = {source for source, _ in pairs}
    return pairs + [(name, None) for name in source_names or [] if name not in used]
