"""Where `${SECRET:profile.field}` may stand: only in credentials fields, which the vault resolves at run time."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Annotated, Any, get_args

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from etl_assets.credentials.vault import SECRET_REFERENCE

INSTEAD = "warehouse: {connection: PROFILE}"


class _AcceptsSecret:
    """Marks a model field as a credentials field, whose text may be `${SECRET:profile.field}`."""


ACCEPTS_SECRET = _AcceptsSecret()
# For credentials fields of settings blocks (S3, Bedrock): `secret_access_key: SecretText`.
SecretText = Annotated[str, ACCEPTS_SECRET]

FieldPath = tuple[str | int, ...]


def secret_reference_in(text: str) -> str | None:
    """The `profile.field` of the first `${SECRET:...}` in `text`, or None."""
    found = SECRET_REFERENCE.search(text)
    return found[1] if found else None


def misplaced_secret(reference: str) -> str:
    """The one-sentence problem of a secret reference outside a credentials field."""
    return (
        f"holds ${{SECRET:{reference}}}, but a secret belongs only in a credentials field (of S3 or Bedrock "
        f"settings), where the vault resolves it at run time; keep the credentials in a vault profile and name "
        f"the profile instead, as in `{INSTEAD}`."
    )


def secret_problems(model: BaseModel, profiles: Callable[[], Collection[str]]) -> list[tuple[FieldPath, str]]:
    """(field path, problem) for each secret reference outside a credentials field, or naming no vault profile."""
    problems = []
    known: Collection[str] | None = None
    for path, text, accepted in _texts(model, (), False):
        reference = secret_reference_in(text)
        if reference is None:
            continue
        if not accepted:
            problems.append((path, misplaced_secret(reference)))
            continue
        known = profiles() if known is None else known
        profile = reference.partition(".")[0]
        if profile not in known:
            names = ", ".join(sorted(known)) or "the vault has none"
            problems.append(
                (
                    path,
                    f"uses ${{SECRET:{reference}}} but the credentials vault has no profile '{profile}' "
                    f"(known: {names}); add it with `etl-assets credentials set {profile} ...`.",
                )
            )
    return problems


def _texts(value: Any, path: FieldPath, accepted: bool) -> Iterator[tuple[FieldPath, str, bool]]:
    """Every text in `value` with its field path, and whether its field accepts a secret."""
    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            yield from _texts(getattr(value, name), (*path, field.alias or name), _accepts_secret(field))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key, (*path, key), False)
            yield from _texts(item, (*path, key), accepted)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _texts(item, (*path, index), accepted)
    elif isinstance(value, str):
        yield path, value, accepted


def _accepts_secret(field: FieldInfo) -> bool:
    return ACCEPTS_SECRET in field.metadata or _marked(field.annotation)


def _marked(annotation: Any) -> bool:
    """Whether the annotation, or a member of it such as `SecretText | None`, carries the credentials mark."""
    if ACCEPTS_SECRET in getattr(annotation, "__metadata__", ()):
        return True
    return any(_marked(argument) for argument in get_args(annotation))
