"""How delimited text writes its fields: the delimiter, the quote, and the escape (None: a quote inside a quoted
field is doubled), as the RE2 patterns of the vectorised checks and the Python ones of the records walked.

An escape takes the character after it as it is, in a quoted field or not, and a doubled quote in a quoted field
still stands for one, as Arrow reads them (escape_char, with double_quote): a record gives the same values whether
Arrow parses it or it is walked.
"""

from __future__ import annotations

import re

from etl_assets.errors import IngestError
from etl_assets.ingest.model import ReadOptions

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")


class Syntax:
    """A file's delimiter, quote and escape, with the patterns that read them."""

    def __init__(self, delimiter: str, quote: str, escape: str | None) -> None:
        self.delimiter, self.quote, self.escape = delimiter, quote, escape
        self.record_pattern = record_pattern(delimiter, quote, escape)
        # an escape and the character it takes, left out where quotes or delimiters are counted
        self.escaped = None if escape is None else f"{re2_literal(escape)}(?s:.)"
        # left out of a well-formed record before its delimiters are counted: its quoted fields and escaped characters
        self.not_delimiters = _quoted_field(quote, escape) + ("" if self.escaped is None else f"|{self.escaped}")
        # a line holding none of these is a whole record (all ASCII: Arrow reads no other quote or escape)
        self.marks = ("\r\n" + quote + (escape or "")).encode()
        q, d = re.escape(quote), re.escape(delimiter)
        if escape is None:
            # a quoted field's text up to its closing quote; possessive, so `""` is never split to end the field early
            self.quoted_text = re.compile(f"[^{q}]*+(?:{q}{q}[^{q}]*+)*+")
        else:
            e = re.escape(escape)
            # both stop before an escape that ends the line: the escaped line break goes on to the next line; an
            # unquoted field's text stops at its delimiter, or at a CR ending the line (the line's end, not the field's)
            self.quoted_text = re.compile(f"(?:[^{q}{e}]++|{q}{q}|{e}.)*+", re.DOTALL)
            self.plain_text = re.compile(f"(?:[^{d}{e}\\r]++|{e}.|\\r(?=.))*+", re.DOTALL)
            self.quoted_escapes = re.compile(f"{e}(.)|{q}({q})", re.DOTALL)
            self.plain_escapes = re.compile(f"{e}(.)", re.DOTALL)

    def value(self, text: str, quoted: bool) -> str:
        """A field's value from its text as written (a quoted one's without its quotes)."""
        if self.escape is None:
            return text.replace(self.quote * 2, self.quote) if quoted else text
        return self.quoted_escapes.sub(r"\1\2", text) if quoted else self.plain_escapes.sub(r"\1", text)

    def goes_on(self, line: str, end: int, quoted: bool) -> bool:
        """Whether a field whose text stops at `end` runs on past the line: its quote does not close on it, or the
        line ends in an escape."""
        if quoted:
            return not line.startswith(self.quote, end)
        return self.escape is not None and line[end:] == self.escape


def detected_delimiter(header_line: str, options: ReadOptions) -> str:
    """The candidate the header line holds most of (a comma on a tie); never the quote or the escape, nor a comma
    when it is the decimal separator."""
    taken = (options.quote, options.escape, options.decimal)
    candidates = [candidate for candidate in CANDIDATE_DELIMITERS if candidate not in taken]
    return max(candidates, key=lambda candidate: (header_line.count(candidate), candidate == ","))


def checked_syntax(delimiter: str, options: ReadOptions, original_name: str) -> Syntax:
    """`delimiter` with the options' quote and escape, or an IngestError when Arrow cannot read with them."""
    characters = {"delimiter": delimiter, "quote": options.quote, "escape": options.escape}
    for name, character in characters.items():
        if character is not None and not character.isascii():
            raise IngestError(
                f"Cannot read {original_name!r} with the {name} {character!r}: delimited text is read only with an "
                f"ASCII delimiter, quote and escape; set source.{name} in etl_config.yaml to one."
            )
    chosen = [character for character in characters.values() if character is not None]
    if len(set(chosen)) < len(chosen):
        raise IngestError(
            f"Cannot read {original_name!r} with {delimiter!r} as its delimiter: the delimiter, quote and escape must "
            "be different characters; set source.delimiter, quote or escape in etl_config.yaml."
        )
    return Syntax(delimiter, options.quote, options.escape)


def record_pattern(delimiter: str, quote: str = '"', escape: str | None = None) -> str:
    """A complete, well-formed record: quoted fields (which may hold line breaks) or unquoted ones without quotes.
    An escape takes any character in a quoted field, but no line break outside one: Arrow would join the next line."""
    d, q = re2_literal(delimiter), re2_literal(quote)
    if escape is None:
        plain = f"[^{q}\\r\\n{d}]*"
    else:
        e = re2_literal(escape)
        plain = f"(?:[^{q}{e}\\r\\n{d}]|{e}[^\\r\\n])*"
    field = f"{_quoted_field(quote, escape)}|{plain}"
    return f"^(?:{field})(?:{d}(?:{field}))*\\r?$"


def re2_literal(character: str) -> str:
    """`character` in RE2 syntax, by its code point: never a metacharacter, in a character class or out."""
    return f"\\x{{{ord(character):x}}}"


def _quoted_field(quote: str, escape: str | None) -> str:
    q = re2_literal(quote)
    if escape is None:
        return f"{q}(?:[^{q}]|{q}{q})*{q}"
    e = re2_literal(escape)
    return f"{q}(?:[^{q}{e}]|{q}{q}|{e}(?s:.))*{q}"
