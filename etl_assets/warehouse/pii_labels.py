"""PII columns labelled in Snowflake: a comment on each ('pii: email; mask: hash') and, where the account has object
tagging (Enterprise edition and up), the tags PII and PII_MASK (docs/architecture.md §8).

A label is metadata: a warehouse that refuses it leaves the load as it is and says so in the run's log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from snowflake.connector import errors as sf_errors

from etl_assets.sql_text import literal, qualified_name, quote_identifier
from etl_assets.warehouse.identifiers import object_name

LABEL_PREFIX = "pii: "
PII_TAG, MASK_TAG = "PII", "PII_MASK"


class Log(Protocol):
    def warning(self, msg: str) -> object: ...


class PiiLabel(Protocol):
    """What a column's label says (compliance.pii.PiiColumn)."""

    @property
    def kind(self) -> str: ...
    @property
    def mask(self) -> str: ...
    @property
    def comment(self) -> str: ...


def label_pii_columns(connection, database: str, schema: str, table: str, labels: Mapping[str, PiiLabel], log: Log) -> int:
    """Give each PII column of the table its label, and take it off a column that is no longer PII; the number of
    columns changed.

    One read of the table's comments per run; statements only for the columns whose label changed, so the runs
    after the first write nothing. Tags are tried once per change and skipped, with a warning, where the account
    has none (the emulator, Standard edition): the comment says the same.
    """
    names = [object_name(name) for name in (database, schema, table)]
    try:
        with connection.cursor() as cursor:
            current = _comments(cursor, *names)
            wanted = {name: label.comment for name, label in labels.items() if name in current}
            wanted |= {name: "" for name, comment in current.items() if (comment or "").startswith(LABEL_PREFIX) and name not in labels}
            changed = {name: comment for name, comment in wanted.items() if (current[name] or "") != comment}
            for name, comment in changed.items():
                cursor.execute(f"COMMENT ON COLUMN {qualified_name(*names, name)} IS {literal(comment)}")
            tagged = {name: labels[name] for name in changed if name in labels}
            if tagged:
                _tag(cursor, names, tagged, log)
    except sf_errors.Error as exc:
        log.warning(f"The PII columns of {'.'.join(names)} were loaded but not labelled ({exc.msg or exc}); the next load tries again.")
        return 0
    return len(changed)


def _comments(cursor, database: str, schema: str, table: str) -> dict[str, str | None]:
    cursor.execute(
        f"SELECT column_name, comment FROM {quote_identifier(database)}.information_schema.columns "
        f"WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    )
    return dict(cursor.fetchall())


def _tag(cursor, names: list[str], labels: Mapping[str, PiiLabel], log: Log) -> None:
    """The tags PII (what the column holds) and PII_MASK (how it is masked), where the account has tagging."""
    database, schema, table = names
    pii_tag, mask_tag = qualified_name(database, schema, PII_TAG), qualified_name(database, schema, MASK_TAG)
    try:
        for tag in (pii_tag, mask_tag):
            cursor.execute(f"CREATE TAG IF NOT EXISTS {tag}")
        for name, label in labels.items():
            cursor.execute(
                f"ALTER TABLE {qualified_name(*names)} MODIFY COLUMN {quote_identifier(name)} "
                f"SET TAG {pii_tag} = {literal(label.kind)}, {mask_tag} = {literal(label.mask)}"
            )
    except sf_errors.ProgrammingError as exc:
        log.warning(f"{database}.{schema}.{table}: PII columns are commented but not tagged: this account refuses tags ({exc.msg or exc}).")
