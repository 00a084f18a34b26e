"""Pydantic's validation errors, told in the config file's own terms: file, dataset, field, what is allowed."""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import ErrorDetails

from etl_assets.config.models import DATASET_NAME_PATTERN, IDENTIFIER_PATTERN
from etl_assets.config.problems import config_location
from etl_assets.config.secrets import misplaced_secret, secret_reference_in

PATTERN_HINTS = {
    IDENTIFIER_PATTERN: "use letters, digits and underscores, not starting with a digit",
    DATASET_NAME_PATTERN: "a dataset name uses lower-case letters, digits and underscores and starts with a letter",
}
LONGEST_SHOWN_INPUT = 80


def describe_validation_error(error: ErrorDetails, file: str) -> str:
    """One line naming the file, the dataset (if any) and the field, and saying what is wrong."""
    loc = tuple(part for part in error["loc"] if part != "[key]")
    # `name` is filled in from the dataset's key, so the user never wrote that field.
    if len(loc) == 3 and loc[0] == "datasets" and loc[2] == "name":
        loc = loc[:2]
    return config_location(file, loc).describe(_problem(error))


def _problem(error: ErrorDetails) -> str:
    kind, message = error["type"], error["msg"]
    reference = secret_reference_in(error["input"]) if isinstance(error["input"], str) else None
    if reference is not None:
        return misplaced_secret(reference)
    if kind == "missing":
        return "required but missing; add it."
    if kind == "value_error":
        text = message.removeprefix("Value error, ")
    elif kind == "literal_error":
        allowed = ", ".join(value.strip("'") for value in re.split(r", | or ", error["ctx"]["expected"]))
        text = f"got {_shown(error['input'])}; allowed: {allowed}"
    elif kind == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(error["ctx"]["pattern"], message[0].lower() + message[1:])
        text = f"got {_shown(error['input'])}; {hint}"
    else:
        text = f"got {_shown(error['input'])}; {message[0].lower()}{message[1:]}"
    return text if text.endswith(".") else f"{text}."


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= LONGEST_SHOWN_INPUT else f"{text[: LONGEST_SHOWN_INPUT - 3]}..."
