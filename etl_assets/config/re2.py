"""Regular expressions compiled by RE2 (through pyarrow), whose matching time grows linearly with the text."""

from __future__ import annotations

def only_named_groups(pattern: str) -> str:
    """`pattern` with each unnamed group made non-capturing: pyarrow's RE2 extraction takes named groups only."""
    out, index, in_class = [], 0, False
    while index < len(pattern):
        if pattern.startswith("\\Q", index):  # quoted text up to \E is literal, parentheses included
            end = pattern.find("\\E", index)
            end = len(pattern) if end < 0 else end + 2
            out.append(pattern[index:end])
            index = end
        elif pattern[index] == "\\":
            out.append(pattern[index : index + 2])
            index += 2
        elif in_class:
            in_class = pattern[index] != "]"
            out.append(pattern[index])
            index += 1
        elif pattern[index] == "[":
            # a `]` right after `[` or `[^` is a member of the class, not its end
            start = index + 1 + pattern.startswith("^", index + 1)
            start += pattern.startswith("]", start)
            out.append(pattern[index:start])
            index, in_class = start, True
        else:
            out.append("(?:" if pattern.startswith("(", index) and not pattern.startswith("(?", index) else pattern[index])
            index += 1
    return "".join(out)


def re2_named_groups(pattern: str) -> list[str]:
    """The named groups of `pattern` as RE2 compiles it; a ValueError says why RE2 cannot use it."""
    # Imported here: pyarrow.compute takes a third of a second, and most configs have no filename pattern.
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        groups = pc.extract_regex(pa.array([], pa.string()), pattern=only_named_groups(pattern)).type
    except pa.ArrowInvalid as exc:
        reason = str(exc).removeprefix("Invalid regular expression: ")
        raise ValueError(
            f"{pattern!r} is not a valid RE2 regular expression ({reason}); RE2 runs in linear time and has no "
            "lookarounds or backreferences, so rewrite the pattern without them"
        ) from None
    return [groups.field(index).name for index in range(groups.num_fields)]
