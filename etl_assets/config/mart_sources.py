"""Marts with the datasets they read: their sources, and what does not fit (unknown or mismatched sources, a taken table)."""

from __future__ import annotations

from collections.abc import Mapping

from etl_assets.config.collisions import repeats, table_name
from etl_assets.config.columns import LEDGER_TABLE, QUARANTINE_SUFFIX
from etl_assets.config.marts import MartConfig
from etl_assets.config.models import DatasetConfig

# (mart, field, one-sentence problem)
MartProblem = tuple[str, str, str]


def mart_sources(mart: MartConfig, datasets: Mapping[str, DatasetConfig]) -> list[DatasetConfig]:
    """The datasets a mart reads, in the order of its `from`."""
    return [datasets[name] for name in mart.from_]


def mart_database(mart: MartConfig, datasets: Mapping[str, DatasetConfig]) -> str:
    """The database a mart's table lives in: its first source's."""
    return datasets[mart.from_[0]].warehouse.database


def mart_table_name(mart: MartConfig, datasets: Mapping[str, DatasetConfig]) -> str:
    """The table an SQL mart writes, as DATABASE.SCHEMA.TABLE."""
    return f"{mart_database(mart, datasets)}.{mart.schema_}.{mart.table_name}".upper()


def mart_problems(marts: Mapping[str, MartConfig], datasets: Mapping[str, DatasetConfig]) -> list[MartProblem]:
    """Each mart whose sources are unknown or do not fit together, or whose table another table already is."""
    problems = [problem for mart in marts.values() for problem in _source_problems(mart, datasets)]
    return problems + _table_clashes(marts, datasets)


def _source_problems(mart: MartConfig, datasets: Mapping[str, DatasetConfig]) -> list[MartProblem]:
    if unknown := [name for name in mart.from_ if name not in datasets]:
        known = ", ".join(datasets)
        return [(mart.name, "from", f"names {unknown[0]!r}, which is not a dataset of this config; use one of {known}.")]
    sources = mart_sources(mart, datasets)
    first = sources[0]
    for source in sources[1:]:
        if source.partitions != first.partitions:
            return [(mart.name, "from", f"reads '{first.name}' and '{source.name}', whose partitions differ, so their windows do not match; give the sources of one mart the same partitions.")]
        if source.warehouse.connection != first.warehouse.connection:
            return [(mart.name, "from", f"reads '{first.name}' and '{source.name}' through different connections, which one query cannot join; read datasets of one connection.")]
        if mart.function and source.warehouse.database != first.warehouse.database:
            return [(mart.name, "from", f"reads '{first.name}' and '{source.name}' from different databases, which a function mart cannot; read datasets of one database.")]
    return []


def _table_clashes(marts: Mapping[str, MartConfig], datasets: Mapping[str, DatasetConfig]) -> list[MartProblem]:
    taken: dict[str, str] = {}
    for dataset in datasets.values():
        taken[table_name(dataset)] = f"dataset '{dataset.name}' loads"
        taken[table_name(dataset, dataset.load.table + QUARANTINE_SUFFIX)] = f"dataset '{dataset.name}' keeps its quarantined rows in"
        taken[table_name(dataset, LEDGER_TABLE)] = "the load ledger is"
    targets = {
        mart.name: mart_table_name(mart, datasets)
        for mart in marts.values()
        if mart.sql is not None and mart.from_[0] in datasets
    }
    problems = [
        (name, "table", f"writes {target}, which {taken[target]}, so each would overwrite the other's rows; choose another table or schema.")
        for name, target in targets.items()
        if target in taken
    ]
    problems += [
        (name, "table", f"writes {target}, which mart '{first}' writes too; give each mart its own table.")
        for name, first, target in repeats(targets)
    ]
    return problems
