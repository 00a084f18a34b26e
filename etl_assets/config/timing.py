"""When a dataset runs on its own (`schedule`) and how late its table may be (`freshness`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, model_validator

from etl_assets.config.base import StrictModel

DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
CRON_ALIASES = {"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"}
MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAY_NAMES = "sun mon tue wed thu fri sat".split()
# minute, hour, day of month, month, day of week: (lowest, highest, names for lowest onwards)
CRON_FIELDS = ((0, 59, []), (0, 23, []), (1, 31, []), (1, 12, MONTH_NAMES), (0, 7, DAY_NAMES))
CRON_PART = re.compile(r"^(\*|(\w+)(?:-(\w+))?)(?:/(\d+))?$")


def _duration(value: Any) -> Any:
    if isinstance(value, dt.timedelta):
        return value
    match = DURATION.match(value) if isinstance(value, str) else None
    if not match or int(match[1]) == 0:
        raise ValueError(f"got {value!r}; use a positive duration such as 30m, 26h or 2d")
    return dt.timedelta(**{DURATION_UNITS[match[2]]: int(match[1])})


Duration = Annotated[dt.timedelta, BeforeValidator(_duration)]


def _cron_value(token: str, lowest: int, highest: int, names: list[str]) -> int | None:
    if token.lower() in names:
        return lowest + names.index(token.lower())
    return int(token) if token.isdigit() and lowest <= int(token) <= highest else None


def _cron_field_ok(text: str, lowest: int, highest: int, names: list[str]) -> bool:
    for part in text.split(","):
        match = CRON_PART.match(part)
        if not match or match[4] == "0":
            return False
        bounds = [_cron_value(token, lowest, highest, names) for token in (match[2], match[3]) if token is not None]
        if None in bounds or (len(bounds) == 2 and bounds[0] > bounds[1]):
            return False
    return True


def valid_cron(value: str) -> str:
    """Five fields, or an alias such as @daily; checked here so a typo is a config error, not a failing tick."""
    fields = value.split()
    if value.strip() in CRON_ALIASES or (len(fields) == 5 and all(_cron_field_ok(f, *limits) for f, limits in zip(fields, CRON_FIELDS))):
        return value.strip()
    raise ValueError(f"got {value!r}; use a cron string of five fields such as '15 1 * * *' (01:15 every day) or an alias such as @daily")


class ScheduleConfig(StrictModel):
    enabled: bool = True
    # None: a tick as each window closes; else ticks on this cron, each running the last closed window
    cron: Annotated[str, AfterValidator(valid_cron)] | None = None


class FreshnessConfig(StrictModel):
    """How long the table may go without a load before Dagster shows it late (warn) and overdue (fail), and by when
    each window must be loaded (`deadline`)."""

    warn_after: Duration | None = None
    fail_after: Duration
    # each window must be loaded within this long after it closes, or the table's window_deadline check fails
    deadline: Duration | None = None

    @model_validator(mode="after")
    def _fail_not_before_warn(self) -> FreshnessConfig:
        if self.warn_after is not None and self.fail_after < self.warn_after:
            raise ValueError("fail_after must be at least as long as warn_after, since a table is late before it is overdue")
        return self
