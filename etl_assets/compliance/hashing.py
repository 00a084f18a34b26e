"""The token of `mask: hash`: HMAC-SHA256 of a value's text under the dataset's key, as 64 hex digits.

Python (`HashKey.token`) and DuckDB's SQL (`token_sql`) give the same token, so a value a person asks to erase is
found among the tokens the transform wrote. The key is a vault secret: the same value always gives the same token,
so masked columns still join, and without the key no one can test a guess.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

BLOCK_BYTES = 64  # SHA-256's block size, which HMAC pads its key to
MIN_KEY_BYTES = 16
# the named parameters token_sql reads the key's pads from
SQL_PARAMETERS = ("hash_inner", "hash_outer")


@dataclass(frozen=True)
class HashKey:
    """A hash key; its bytes never appear in a repr, a log line or SQL text (they travel as query parameters)."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_BYTES:
            raise ValueError(f"a hash key needs at least {MIN_KEY_BYTES} bytes")

    def token(self, value: str) -> str:
        """The token of `value`'s text (UTF-8), as the transform writes it."""
        return hmac.new(self.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def sql_parameters(self) -> dict[str, bytes]:
        """The inner and outer pads of RFC 2104, for the named parameters of token_sql."""
        key = self.secret if len(self.secret) <= BLOCK_BYTES else hashlib.sha256(self.secret).digest()
        key = key.ljust(BLOCK_BYTES, b"\0")
        inner, outer = SQL_PARAMETERS
        return {inner: bytes(b ^ 0x36 for b in key), outer: bytes(b ^ 0x5C for b in key)}


def token_sql(expression: str) -> str:
    """DuckDB SQL for the token of `expression` cast to text; NULL stays NULL. Run it with HashKey.sql_parameters."""
    inner, outer = SQL_PARAMETERS
    text = f"encode(CAST({expression} AS VARCHAR))"
    return f"sha256(${outer} || unhex(sha256(${inner} || {text})))"
