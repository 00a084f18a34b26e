"""Which columns hold people's names: a name that says so (first_name, surname, customer_name, name) and values
shaped like one (one to four capitalised words), so a `name` column of product names is not taken for people's.
"""

from __future__ import annotations

import re

from etl_assets.profiling.id_columns import WORD_SEPARATORS

CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# a whole word that is a person's name on its own, or when "name" follows it (first_name, customer_name)
NAME_WORDS = frozenset({"surname", "surnames", "forename", "forenames", "firstname", "lastname", "fullname", "givenname", "familyname", "middlename", "maidenname"})
PERSON_WORDS = frozenset({
    "first", "last", "full", "given", "family", "middle", "maiden", "sur", "fore", "person", "people", "customer",
    "contact", "client", "user", "owner", "employee", "staff", "recipient", "sender", "patient", "member", "holder",
    "cardholder", "buyer", "seller", "driver", "guest", "student", "author", "manager", "agent", "applicant",
    "subscriber", "passenger", "beneficiary", "billing", "shipping", "legal", "payer", "payee", "parent", "spouse",
    "teacher", "doctor", "signatory", "consignee", "emergency",
})  # fmt: skip
# a word of a name: a capital, then letters and apostrophes with a lower-case one among them (O'Brien, McDonald,
# José), maybe hyphenated (Anne-Marie); or an initial (J.); or a lower-case particle (van, de, ...)
NAME_PART = r"\p{Lu}['’]?[\p{L}'’]*\p{Ll}[\p{L}'’]*(?:-\p{Lu}?[\p{L}'’]*\p{Ll}[\p{L}'’]*)*"
PARTICLE = r"(?:van|von|der|den|de|del|della|da|di|du|la|le|bin|ibn|al)"
WORD = rf"(?:{NAME_PART}|\p{{Lu}}\.)"
# RE2 (DuckDB's regexp_full_match) on the trimmed value: one to four words, "Last, First" allowed
PERSON_NAME_PATTERN = rf"{WORD},?(?: (?:{PARTICLE} )*{WORD}){{0,3}}"


def names_people(column_name: str) -> bool:
    """Whether a column's name says it holds people's names: name, first_name, lastName, Surname, customer_name,
    name_first; not product_name, file_name or company_name."""
    spaced = CAMEL_BOUNDARY.sub(" ", column_name)
    words = [word.lower() for word in WORD_SEPARATORS.split(spaced) if word]
    if not words:
        return False
    if words[-1] in NAME_WORDS:
        return True
    if words[-1] in ("name", "names"):
        return len(words) == 1 or words[-2] in PERSON_WORDS
    return words[0] == "name" and len(words) == 2 and words[1] in PERSON_WORDS
