"""Which columns read as identifiers: the one rule that key candidates, semantic types and the load's key choice share."""

from __future__ import annotations

import re

# Types whose values make poor keys: floats compare inexactly, booleans hold two values, JSON is a document.
NEVER_KEY_TYPES = ("float", "boolean", "json")
WORD_SEPARATORS = re.compile(r"[\W_]+")


def looks_like_id(name: str) -> bool:
    """Whether the name's last word is "id": id, ID, customer_id, order-id, customerId, CustomerID; not paid, valid or VOID."""
    words = [word for word in WORD_SEPARATORS.split(name) if word]
    if not words:
        return False
    last = words[-1]
    if last.lower() == "id":
        return True
    # a camelCase word boundary: customerId, or CustomerID after a lower-case letter or digit (but not PAID, VOID)
    before = last[-3:-2]
    return len(last) > 2 and (last.endswith("Id") or (last.endswith("ID") and (before.islower() or before.isdigit())))


def key_rank(name: str, inferred_type: str) -> int:
    """How likely a unique column is the key, lowest first: id-like names, then integers and strings, then the rest."""
    if looks_like_id(name):
        return 0
    if inferred_type in ("integer", "string"):
        return 1
    return 2
