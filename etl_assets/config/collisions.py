"""Datasets that are valid alone but would break each other: one table, one landing folder, a quarantine table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from etl_assets.config.columns import LEDGER_TABLE, QUARANTINE_SUFFIX
from etl_assets.config.models import DatasetConfig

S3_SCHEME = "s3://"

# (dataset, field, one-sentence problem)
Collision = tuple[str, str, str]


def collision_problems(datasets: Mapping[str, DatasetConfig]) -> list[Collision]:
    """Each clash between datasets, reported on the dataset that causes it and naming the other."""
    checks = (_shared_tables, _shared_landing, _quarantine_clashes, _ledger_tables)
    return [collision for check in checks for collision in check(datasets)]


def table_name(dataset: DatasetConfig, table: str | None = None) -> str:
    """DATABASE.SCHEMA.TABLE as Snowflake resolves the unquoted names: upper-cased."""
    return dataset.warehouse.table_name(table or dataset.load.table).upper()


def landing_folder(dataset: DatasetConfig) -> str:
    """The folder a dataset reads: a resolved local path, or s3://bucket/prefix without stray slashes."""
    path = dataset.source.path
    if dataset.source.is_s3:
        bucket, _, prefix = path.removeprefix(S3_SCHEME).partition("/")
        return f"{S3_SCHEME}{bucket.lower()}/{prefix.strip('/')}".rstrip("/")
    return str(Path(path).resolve())


def _shared_tables(datasets: Mapping[str, DatasetConfig]) -> list[Collision]:
    return [
        (
            name,
            "load.table",
            f"loads {table}, which dataset '{first}' loads too, so the code location would fail to load "
            "(duplicate asset key) and stop every dataset; give each dataset its own table.",
        )
        for name, first, table in repeats({name: table_name(dataset) for name, dataset in datasets.items()})
    ]


def _shared_landing(datasets: Mapping[str, DatasetConfig]) -> list[Collision]:
    return [
        (
            name,
            "source.path",
            f"reads the landing folder {folder}, which dataset '{first}' reads too, so each would take some of the "
            "other's files; give each dataset its own folder.",
        )
        for name, first, folder in repeats({name: landing_folder(dataset) for name, dataset in datasets.items()})
    ]


def _quarantine_clashes(datasets: Mapping[str, DatasetConfig]) -> list[Collision]:
    quarantines = {
        table_name(dataset, dataset.load.table + QUARANTINE_SUFFIX): name for name, dataset in datasets.items()
    }
    return [
        (
            name,
            "load.table",
            f"{table_name(dataset)} is where dataset '{quarantines[table_name(dataset)]}' keeps its quarantined rows, "
            "so each load would replace the other's rows there; choose another table name.",
        )
        for name, dataset in datasets.items()
        if table_name(dataset) in quarantines
    ]


def _ledger_tables(datasets: Mapping[str, DatasetConfig]) -> list[Collision]:
    return [
        (
            name,
            "load.table",
            f"{table_name(dataset)} is the load ledger of every dataset in that schema, so loading rows there "
            "would corrupt it; choose another table name.",
        )
        for name, dataset in datasets.items()
        if dataset.load.table.upper() == LEDGER_TABLE
    ]


def repeats(values: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(name, the first name with the same value, the value) for every name whose value an earlier name has."""
    first_with: dict[str, str] = {}
    repeats = []
    for name, value in values.items():
        first = first_with.setdefault(value, name)
        if first != name:
            repeats.append((name, first, value))
    return repeats
