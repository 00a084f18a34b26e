"""A dataset's personal data: which columns hold it, how each reaches the warehouse, how long windows are kept
(docs/architecture.md §8)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from etl_assets.config.base import StrictModel

MaskMethod = Literal["hash", "redact", "none"]
Classification = Literal["public", "internal", "confidential", "restricted"]
ColumnName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
# the vault profile (kind hash_key) whose key `mask: hash` uses, unless `hash_key` names another
DEFAULT_HASH_KEY_PROFILE = "pii_hash_key"


class ComplianceConfig(StrictModel):
    """`compliance:` of a dataset or of `defaults`. Column names are the transformed table's (its target columns)."""

    # columns that hold personal data
    pii: list[ColumnName] = Field(default_factory=list)
    # also personal data: the columns the profile recognises as emails, phone numbers or people's names
    auto_detect_pii: bool = False
    # how a column reaches the warehouse: hash (a keyed SHA-256, the same token for the same value), redact (NULL),
    # none (as is, the default); a masked column is personal data whether or not `pii` names it
    mask: dict[ColumnName, MaskMethod] = Field(default_factory=dict)
    # windows whose end is more than this many days ago are deleted everywhere by the retention job; None: kept
    retention_days: int | None = Field(default=None, ge=1)
    # shown as asset metadata on every asset of the dataset
    classification: Classification | None = None
    # the vault profile holding the hash key
    hash_key: str = DEFAULT_HASH_KEY_PROFILE

    @model_validator(mode="after")
    def _each_column_once(self) -> ComplianceConfig:
        repeated = sorted({name for name in self.pii if self.pii.count(name) > 1})
        if repeated:
            raise ValueError(f"pii names {', '.join(repeated)} more than once; name each column once")
        return self

    @property
    def declared_pii(self) -> list[str]:
        """The columns named as personal data, by `pii` or by a mask, in the order written."""
        return list(dict.fromkeys([*self.pii, *self.mask]))

    def masked(self, method: MaskMethod) -> list[str]:
        """The columns masked with `method`."""
        return [name for name, how in self.mask.items() if how == method]
