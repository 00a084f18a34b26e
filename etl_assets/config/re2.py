"""Regular expressions compiled by RE2 (through pyarrow), whose matching time grows linearly with the text."""

from __future__ import annotations

UNNAMED_GROUPS = "contains unnamed groups"


def re2_named_groups(pattern: str) -> list[str]:
    """The named groups of `pattern` as RE2 compiles it; a ValueError says why RE2 cannot use it."""
    # Imported here: pyarrow.compute takes a third of a second, and most configs have no filename pattern.
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        groups = pc.extract_regex(pa.array([], pa.string()), pattern=pattern).type
    except pa.ArrowInvalid as exc:
        reason = str(exc).removeprefix("Invalid regular expression: ")
        if UNNAMED_GROUPS in reason:
            raise ValueError(
                f"{pattern!r} has an unnamed group; "
                "name the date group (?P<date>...) and write any other group as (?:...)"
            ) from None
        raise ValueError(
            f"{pattern!r} is not a valid RE2 regular expression ({reason}); RE2 runs in linear time and has no "
            "lookarounds or backreferences, so rewrite the pattern without them"
        ) from None
    return [groups.field(index).name for index in range(groups.num_fields)]
