"""The base of every config model: unknown keys are errors."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator


class StrictModel(BaseModel):
    """Unknown keys are errors, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    # Fields the loader fills in, so they are not offered to the user as keys to write.
    injected_keys: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = {key for name, field in cls.model_fields.items() for key in (name, field.alias) if key}
        unknown = [key for key in data if key not in known]
        if unknown:
            allowed = [field.alias or name for name, field in cls.model_fields.items() if name not in cls.injected_keys]
            noun = "key" if len(unknown) == 1 else "keys"
            raise ValueError(f"unknown {noun} {', '.join(repr(key) for key in unknown)}; allowed: {', '.join(allowed)}")
        return data
