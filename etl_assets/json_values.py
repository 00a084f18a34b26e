"""Values as JSON can hold them: what metadata, profiles and reports write, the same way everywhere."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def json_safe(value: Any) -> Any:
    """None, booleans, integers, finite floats and text as they are; dates and times in ISO form; bytes in hex; else their text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)
