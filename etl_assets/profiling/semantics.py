"""What a column means (email, url, id, person_name, category, ...) and which text columns hold dates in one format."""

from __future__ import annotations

import dataclasses

import duckdb
import pyarrow as pa

from etl_assets.column_types import is_text
from etl_assets.profiling.id_columns import looks_like_id
from etl_assets.profiling.model import ColumnProfile, DateCandidate
from etl_assets.profiling.person_names import PERSON_NAME_PATTERN, names_people
from etl_assets.profiling.sql import per_text_column
from etl_assets.sql_text import literal, quote_identifier

SHAPE_PATTERNS = {
    "email": r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "url": r"(?i)(https?|ftp)://[^\s/?#]+[^\s]*",
    "uuid": r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "phone": r"\+?\(?[0-9]{1,4}\)?([ .-]?\(?[0-9]{2,4}\)?){2,5}",
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%Y%m%d", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M")
SHAPE_SHARE = 0.9  # a column is an email (url, ...) column when this share of its sampled values look like one
DATE_REASON_SHARE = 0.5  # below this share of date-like values a column is plain text, not worth a reason
ID_DISTINCT_SHARE = 0.95
CATEGORY_MAX_DISTINCT = 1000
CATEGORY_MAX_SHARE = 0.5
FREE_TEXT_MIN_LENGTH = 20
FREE_TEXT_MIN_SHARE = 0.5


def add_semantics(
    connection: duckdb.DuckDBPyConnection, columns: list[ColumnProfile], fields: list[pa.Field], row_count: int, sample_rows: int
) -> tuple[list[ColumnProfile], list[DateCandidate], list[DateCandidate]]:
    """The columns with their semantic type, the date candidates, and date-like columns that are not (with why);
    `sample_rows` is the row count of the temp table `sample`."""
    dates, rejected = _stored_dates(columns, fields)
    text = [c for c, f in zip(columns, fields) if is_text(f.type) and c.null_count < row_count]
    shapes, formats = _sample_counts(connection, text, sample_rows)
    checked = _date_formats(connection, [c for c in text if _may_be_date_text(c)], formats)
    for name, (date_format, reason) in checked.items():
        (dates if date_format else rejected).append(DateCandidate(name, date_format, reason))
    date_formats = {d.column: d.format for d in dates}
    typed = [
        dataclasses.replace(c, semantic_type=_semantic_type(c, row_count, shapes.get(c.name), date_formats, set(checked)))
        for c in columns
    ]
    return typed, dates, rejected


def schema_semantics(columns: list[ColumnProfile], fields: list[pa.Field]) -> tuple[list[ColumnProfile], list[DateCandidate]]:
    """For no rows: the semantic types and date candidates the schema alone gives, with no scan."""
    dates, _ = _stored_dates(columns, fields)
    date_formats = {d.column: d.format for d in dates}
    typed = [dataclasses.replace(c, semantic_type=_semantic_type(c, 0, None, date_formats, set())) for c in columns]
    return typed, dates


def _stored_dates(columns: list[ColumnProfile], fields: list[pa.Field]) -> tuple[list, list]:
    dates = []
    for column, arrow_field in zip(columns, fields):
        if column.inferred_type not in ("date", "timestamp"):
            continue
        if not is_text(arrow_field.type):
            dates.append(DateCandidate(column.name, None, f"stored as a {column.inferred_type}"))
        elif column.inferred_type == "date":
            dates.append(DateCandidate(column.name, "%Y-%m-%d", "every value is an ISO date"))
        else:
            dates.append(DateCandidate(column.name, "ISO 8601", "every value is an ISO 8601 timestamp"))
    return dates, []


def _may_be_date_text(column: ColumnProfile) -> bool:
    eight_digits = column.inferred_type == "integer" and column.length == {"min": 8, "mean": 8.0, "max": 8}
    return column.inferred_type == "string" or eight_digits


def _sample_counts(
    connection: duckdb.DuckDBPyConnection, text: list[ColumnProfile], sample_rows: int
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Per text column, in the sample: how many values look like each shape, and parse in each date format."""
    if not text:
        return {}, {}

    def counts(value: str, index: int | None) -> list[str]:
        trimmed = f"trim({value})"
        # every format starts with a digit, and a failed try_strptime costs a microsecond per format: skip the hopeless
        dated = rf"CASE WHEN regexp_matches({trimmed}, '^\s*[0-9]') THEN {trimmed} END"
        # counted together, every column gets every count; only those its type needs are read
        shaped = index is None or text[index].inferred_type == "string"
        date_like = index is None or _may_be_date_text(text[index])
        aggregates = [f"count_if({trimmed} <> '')"]
        aggregates += [f"count_if(regexp_full_match({trimmed}, {literal(p)}))" if shaped else "NULL" for p in SHAPE_PATTERNS.values()]
        aggregates += [f"count_if(try_strptime({dated}, {literal(f)}) IS NOT NULL)" if date_like else "NULL" for f in DATE_FORMATS]
        aggregates.append(f"count_if(try_strptime({dated}, {_format_list()}) IS NOT NULL)" if date_like else "NULL")
        # people's names only where the column's name says so: the shape alone fits product names too
        named = index is None or (shaped and names_people(text[index].name))
        aggregates.append(f"count_if(regexp_full_match({trimmed}, {literal(PERSON_NAME_PATTERN)}))" if named else "NULL")
        return aggregates

    shapes, formats = {}, {}
    for (_, *values), column in zip(per_text_column(connection, [c.name for c in text], counts, sample_rows), text):
        filled = values[0]
        shapes[column.name] = {"filled": filled, **dict(zip(SHAPE_PATTERNS, values[1 : 1 + len(SHAPE_PATTERNS)])), "person_name": values[-1]}
        formats[column.name] = {"filled": filled, "any": values[-2], **dict(zip(DATE_FORMATS, values[1 + len(SHAPE_PATTERNS) : -2]))}
    return shapes, formats


def _format_list() -> str:
    return "[" + ", ".join(literal(f) for f in DATE_FORMATS) + "]"


def _date_formats(
    connection: duckdb.DuckDBPyConnection, text: list[ColumnProfile], formats: dict[str, dict[str, int]]
) -> dict[str, tuple[str | None, str]]:
    """For each date-like text column: (its one format, why) or (None, why not); columns that are not date-like are left out."""
    verdicts, to_verify = {}, {}
    for column in text:
        counts = formats[column.name]
        filled, parsed = counts["filled"], {f: counts[f] for f in DATE_FORMATS if counts[f]}
        if not filled or counts["any"] < filled * DATE_REASON_SHARE:
            continue
        whole = [f for f, count in parsed.items() if count == filled]
        if whole:
            also = f" (also parses as {', '.join(whole[1:])}; the first is used)" if len(whole) > 1 else ""
            to_verify[column.name] = (whole[0], f"every value parses as {whole[0]}{also}")
        elif counts["any"] == filled:
            mixed = sorted(parsed, key=lambda f: -parsed[f])[:3]
            verdicts[column.name] = (None, f"not a date column: its values mix the formats {' and '.join(mixed)}")
        else:
            best = max(parsed, key=lambda f: parsed[f])
            verdicts[column.name] = (None, f"not a date column: only {parsed[best]} of {filled} sampled values parse as {best}")
    verdicts.update(_verify(connection, to_verify))
    return verdicts


def _verify(connection: duckdb.DuckDBPyConnection, to_verify: dict[str, tuple[str, str]]) -> dict[str, tuple[str | None, str]]:
    """The sample's format, checked on every value: a single value in another format rejects the column."""
    if not to_verify:
        return {}
    failures = [
        f"count_if(trim({quote_identifier(name)}) <> '' AND try_strptime(trim({quote_identifier(name)}), {literal(date_format)}) IS NULL)"
        for name, (date_format, _) in to_verify.items()
    ]
    row = connection.execute(f"SELECT {', '.join(failures)} FROM source").fetchone()
    return {
        name: (date_format, reason) if failed == 0 else (None, f"not a date column: {failed} values do not parse as {date_format}")
        for (name, (date_format, reason)), failed in zip(to_verify.items(), row)
    }


def _semantic_type(
    column: ColumnProfile,
    row_count: int,
    shapes: dict[str, int] | None,
    date_formats: dict[str, str | None],
    date_like: set[str],
) -> str | None:
    if column.inferred_type in ("date", "timestamp", "json"):
        return column.inferred_type
    if column.name in date_formats:
        return "timestamp" if "%H" in (date_formats[column.name] or "") else "date"
    filled = row_count - column.null_count - column.empty_count
    if filled <= 0:
        return None
    if column.inferred_type == "integer" and looks_like_id(column.name) and column.distinct_count >= filled * ID_DISTINCT_SHARE:
        return "integer_id"
    if column.inferred_type != "string":
        return None
    # dates in mixed formats look like phone numbers ("05.01.2026") but are not
    if shapes and shapes["filled"] and column.name not in date_like:
        for shape in SHAPE_PATTERNS:
            if shapes[shape] >= shapes["filled"] * SHAPE_SHARE:
                return shape
        if names_people(column.name) and (shapes["person_name"] or 0) >= shapes["filled"] * SHAPE_SHARE:
            return "person_name"
    if column.length and column.length["mean"] >= FREE_TEXT_MIN_LENGTH and column.distinct_count >= filled * FREE_TEXT_MIN_SHARE:
        return "free_text"
    if column.distinct_count <= CATEGORY_MAX_DISTINCT and column.distinct_count <= filled * CATEGORY_MAX_SHARE:
        return "category"
    return None
