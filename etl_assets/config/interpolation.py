"""Placeholders in config values: ${ENV:NAME}, ${ENV:NAME:default}, ${variables.name}, ${SECRET:name}."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from etl_assets.config.problems import Location

ENV_PREFIX = "ENV:"
VARIABLE_PREFIX = "variables."
SECRET_PREFIX = "SECRET:"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
USAGE = "use ${ENV:NAME}, ${ENV:NAME:default} or ${variables.name}, and write $${ for a literal ${"
# Bounds that keep a small file from expanding without end; real configs stay far below them.
MAX_PLACEHOLDER_NESTING = 8
MAX_VARIABLE_CHAIN = 32
MAX_SUBSTITUTED_TEXT = 1_000_000
LONGEST_SHOWN_TEXT = 40


@dataclass(frozen=True)
class Placeholder:
    body: str


def split_placeholders(text: str, where: Location) -> list[str | Placeholder]:
    """The literal text and the placeholders of `text`, in order; `$${` stands for a literal `${`."""
    pieces: list[str | Placeholder] = []
    literal, position = "", 0
    while (start := text.find("${", position)) != -1:
        if start > 0 and text[start - 1] == "$":
            literal += text[position : start - 1] + "${"
            position = start + 2
            continue
        end = _closing_brace(text, start + 2, where)
        if end is None:
            raise where.error(f"the placeholder in {text!r} is not closed; end it with '}}'.")
        literal += text[position:start]
        if literal:
            pieces.append(literal)
        literal, position = "", end + 1
        pieces.append(Placeholder(text[start + 2 : end]))
    literal += text[position:]
    return [*pieces, literal] if literal or not pieces else pieces


def _closing_brace(text: str, start: int, where: Location) -> int | None:
    # Braces nest, so a default may hold a placeholder of its own: ${ENV:A:${ENV:B:x}/y}.
    depth = 1
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index
        if depth > MAX_PLACEHOLDER_NESTING:
            raise where.error(
                f"the placeholders in {_shortened(text)} nest more than {MAX_PLACEHOLDER_NESTING} deep; "
                "nest fewer defaults."
            )
    return None


def _shortened(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= LONGEST_SHOWN_TEXT else f"{shown[: LONGEST_SHOWN_TEXT - 3]}..."


class Interpolator:
    """Resolves placeholders against an environment and the file's `variables` mapping."""

    def __init__(self, environ: Mapping[str, str], variables: Mapping[str, Any], file: str) -> None:
        self._environ = environ
        self._raw_variables = dict(variables)
        self._file = file
        self._resolved: dict[str, Any] = {}
        self._resolving: list[str] = []
        self._substituted_text = 0

    def resolve_variables(self) -> dict[str, Any]:
        """Every variable resolved, so a broken one is reported even when nothing uses it."""
        return {name: self._variable(name, Location(self._file, "variables")) for name in self._raw_variables}

    def resolve(self, value: Any, where: Location) -> Any:
        """`value` with every placeholder in its strings replaced; containers are rebuilt, never changed."""
        if isinstance(value, str):
            return self._resolve_text(value, where)
        if isinstance(value, dict):
            return {key: self.resolve(item, where.child(key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item, where.child(index)) for index, item in enumerate(value)]
        return value

    def _resolve_text(self, text: str, where: Location) -> Any:
        pieces = split_placeholders(text, where)
        # A whole value that is one variable keeps that variable's type (a number, a list...).
        if len(pieces) == 1 and isinstance(pieces[0], Placeholder) and pieces[0].body.startswith(VARIABLE_PREFIX):
            return self._variable(pieces[0].body.removeprefix(VARIABLE_PREFIX), where)
        return self._join(pieces, where)

    def _join(self, pieces: list[str | Placeholder], where: Location) -> str:
        return "".join(piece if isinstance(piece, str) else self._text_of(piece, where) for piece in pieces)

    def _text_of(self, placeholder: Placeholder, where: Location) -> str:
        value = self._value_of(placeholder, where)
        if isinstance(value, (dict, list)):
            raise where.error(
                f"puts ${{{placeholder.body}}}, which is a {type(value).__name__}, inside text; "
                "use it as the whole value instead."
            )
        text = str(value)
        if placeholder.body.startswith(VARIABLE_PREFIX):
            self._count_substituted(text, placeholder, where)
        return text

    def _count_substituted(self, text: str, placeholder: Placeholder, where: Location) -> None:
        # Variables made of other variables grow geometrically: ten uses of a ten-use variable...
        self._substituted_text += len(text)
        if self._substituted_text > MAX_SUBSTITUTED_TEXT:
            raise where.error(
                f"${{{placeholder.body}}} expands the config's text past {MAX_SUBSTITUTED_TEXT:,} characters; "
                "use long variables fewer times."
            )

    def _value_of(self, placeholder: Placeholder, where: Location) -> Any:
        body = placeholder.body
        if body.startswith(ENV_PREFIX):
            return self._environment_value(body.removeprefix(ENV_PREFIX), where)
        if body.startswith(VARIABLE_PREFIX):
            return self._variable(body.removeprefix(VARIABLE_PREFIX), where)
        if body.startswith(SECRET_PREFIX):
            return self._secret_reference(body.removeprefix(SECRET_PREFIX), where)
        raise where.error(f"has an unknown placeholder ${{{body}}}; {USAGE}.")

    def _secret_reference(self, reference: str, where: Location) -> str:
        """Kept as written: the model says whether its field may hold a secret; the vault resolves it at run time."""
        profile, dot, field = reference.partition(".")
        if not (dot and profile and field):
            raise where.error(
                f"has ${{SECRET:{reference}}}; write ${{SECRET:profile.field}}, e.g. ${{SECRET:prod.password}}."
            )
        return f"${{{SECRET_PREFIX}{reference}}}"

    def _environment_value(self, spec: str, where: Location) -> str:
        name, has_default, default = spec.partition(":")
        if not ENV_NAME.match(name):
            raise where.error(f"has ${{ENV:{spec}}}, whose variable name {name!r} is not valid; {USAGE}.")
        value = self._environ.get(name)
        # An empty variable counts as unset when there is a default, like the shell's ${NAME:-default}.
        if has_default and not value:
            return self._join(split_placeholders(default, where), where)
        if value is None:
            raise where.error(
                f"uses ${{ENV:{name}}} but the environment variable {name} is not set; "
                f"set it, or give a default with ${{ENV:{name}:default}}."
            )
        return value

    def _variable(self, name: str, where: Location) -> Any:
        if name in self._resolved:
            return self._resolved[name]
        if name not in self._raw_variables:
            known = ", ".join(map(str, self._raw_variables)) or "none are defined"
            raise where.error(
                f"uses ${{variables.{name}}} but there is no variable {name!r}; "
                f"define it under `variables:` (known: {known})."
            )
        if name in self._resolving:
            cycle = " -> ".join([*self._resolving[self._resolving.index(name) :], name])
            raise where.error(f"variables refer to each other in a cycle ({cycle}); break the cycle.")
        if len(self._resolving) > MAX_VARIABLE_CHAIN:
            chain = " -> ".join([*self._resolving[:2], "...", *self._resolving[-1:], name])
            raise where.error(
                f"variables refer to each other more than {MAX_VARIABLE_CHAIN} deep ({chain}); "
                "refer to the value directly."
            )
        self._resolving.append(name)
        try:
            value = self.resolve(self._raw_variables[name], Location(self._file, f"variable '{name}'"))
        finally:
            self._resolving.pop()
        self._resolved[name] = value
        return value
