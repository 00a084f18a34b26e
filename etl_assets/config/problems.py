"""How the loader reports a problem: where it sits in the config file, and what to do about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from etl_assets.errors import ConfigError


class ConfigFileError(ConfigError):
    """A problem in the config file; `details` lists every problem found, the message shows the first."""

    def __init__(self, details: Sequence[str]) -> None:
        self.details = list(details)
        first = self.details[0]
        more = len(self.details) - 1
        super().__init__(first if not more else f"{first.rstrip('.')} (and {more} more).")


def field_path(parts: Sequence[str | int]) -> str:
    """`('quality', 2, 'column')` as `quality[2].column`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True)
class Location:
    """A place in the config file: the section (a dataset, a template, the defaults...) and the field in it."""

    file: str
    section: str | None = None
    field: tuple[str | int, ...] = ()

    def child(self, key: str | int) -> Location:
        return replace(self, field=(*self.field, key))

    def describe(self, problem: str) -> str:
        where = [part for part in (self.section, self.field and f"field '{field_path(self.field)}'") if part]
        return f"{self.file}: {', '.join(where)}: {problem}" if where else f"{self.file}: {problem}"

    def error(self, problem: str) -> ConfigFileError:
        return ConfigFileError([self.describe(problem)])


def dataset_location(file: str, name: object, field: tuple[str | int, ...] = ()) -> Location:
    return Location(file, f"dataset '{name}'", field)


def config_location(file: str, loc: Sequence[str | int]) -> Location:
    """Where a field path from the top of the file points: a dataset's field, or a top-level field."""
    if len(loc) >= 2 and loc[0] == "datasets":
        return dataset_location(file, loc[1], tuple(loc[2:]))
    return Location(file, None, tuple(loc))
