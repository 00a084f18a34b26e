"""The shape of etl_config.yaml, validated with pydantic (DESIGN §2)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
DATASET_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
SCALAR_TYPES = ("string", "integer", "float", "boolean", "date", "timestamp")
DECIMAL_TYPE = re.compile(r"^decimal\((\d{1,2}),\s*(\d{1,2})\)$")
# What YAML leaves of `type: decimal(12,2)` inside {...}: the comma ends the value there.
SPLIT_DECIMAL_TYPE = re.compile(r"^decimal\(\s*\d+\s*$")

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
Cadence = Literal["hourly", "daily", "weekly", "monthly"]
SourceFormat = Literal["csv", "tsv", "json", "jsonl", "parquet", "auto"]
LoadStrategy = Literal["append", "merge", "truncate_insert", "replace_window"]
TextTransform = Literal["trim", "lower", "upper"]


class StrictModel(BaseModel):
    """Unknown keys are errors, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    # Fields the loader fills in, so they are not offered to the user as keys to write.
    injected_keys: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = {key for name, field in cls.model_fields.items() for key in (name, field.alias) if key}
        unknown = [key for key in data if key not in known]
        if unknown:
            allowed = [field.alias or name for name, field in cls.model_fields.items() if name not in cls.injected_keys]
            noun = "key" if len(unknown) == 1 else "keys"
            raise ValueError(f"unknown {noun} {', '.join(repr(key) for key in unknown)}; allowed: {', '.join(allowed)}")
        return data


class PartitionsConfig(StrictModel):
    cadence: Cadence = "daily"
    start: dt.date | dt.datetime = dt.date(2026, 1, 1)
    timezone: str = "UTC"

    @field_validator("start", mode="before")
    @classmethod
    def _iso_start(cls, value: Any) -> Any:
        """Parse text here, so a bad value gives one message rather than one per member of the union."""
        if not isinstance(value, str):
            return value
        for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
            try:
                return parse(value)
            except ValueError:
                continue
        raise ValueError(f"got {value!r}; use a date such as 2026-01-01 or a time such as 2026-01-01T06:00")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Paris") from exc
        return value

    @property
    def start_datetime(self) -> dt.datetime:
        if isinstance(self.start, dt.datetime):
            return self.start.replace(tzinfo=None)
        return dt.datetime.combine(self.start, dt.time())


class WarehouseTarget(StrictModel):
    connection: str = "local"
    database: Identifier = "ANALYTICS"
    schema_: Identifier = Field(default="RAW", alias="schema")


def _check_date_regex(value: str) -> str:
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression ({exc})") from exc
    if "date" not in compiled.groupindex:
        raise ValueError(f"the regular expression {value!r} needs a named group (?P<date>...)")
    return value


class FilenamePartitioning(StrictModel):
    filename: str

    _has_date_group = field_validator("filename")(_check_date_regex)


class ColumnPartitioning(StrictModel):
    column: str


PartitionBy = Literal["arrival"] | FilenamePartitioning | ColumnPartitioning
PARTITION_BY_FORMS = "arrival, {filename: REGEX with (?P<date>...)} or {column: NAME}"


def _partitioning_form(value: Any) -> Any:
    """Pick the form by its key, so a mistake reports that form's problem, not every union member's."""
    if value == "arrival" or isinstance(value, (FilenamePartitioning, ColumnPartitioning)):
        return value
    if isinstance(value, dict) and list(value) == ["filename"] and isinstance(value["filename"], str):
        return FilenamePartitioning(filename=_check_date_regex(value["filename"]))
    if isinstance(value, dict) and list(value) == ["column"] and isinstance(value["column"], str):
        return ColumnPartitioning(column=value["column"])
    raise ValueError(f"got {value!r}; use {PARTITION_BY_FORMS}")


class SourceConfig(StrictModel):
    path: str
    pattern: str = "*"
    format: SourceFormat = "auto"
    partition_by: PartitionBy = "arrival"

    _one_partitioning_form = field_validator("partition_by", mode="before")(_partitioning_form)

    @property
    def is_s3(self) -> bool:
        return self.path.startswith("s3://")


class ColumnSpec(StrictModel):
    """How one target column is produced: copied `from` a source column, or computed by `expr`."""

    from_: str | None = Field(default=None, alias="from")
    expr: str | None = None
    type: str = "string"
    apply: list[TextTransform] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _decimal_not_split_by_yaml(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("type"), str) and SPLIT_DECIMAL_TYPE.match(data["type"]):
            whole = ",".join([data["type"], *(str(key) for key in data if str(key).endswith(")"))])
            raise ValueError(f'YAML split the type {whole} at its comma inside {{...}}; quote it: type: "{whole}"')
        return data

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        normalised = value.strip().lower()
        if normalised in SCALAR_TYPES:
            return normalised
        match = DECIMAL_TYPE.match(normalised)
        if match and 0 < int(match[1]) <= 38 and int(match[2]) <= int(match[1]):
            return f"decimal({int(match[1])},{int(match[2])})"
        raise ValueError(f"unknown type {value!r}; use one of {', '.join(SCALAR_TYPES)} or decimal(p,s) with p<=38")

    @model_validator(mode="after")
    def _from_or_expr(self) -> ColumnSpec:
        if self.from_ is not None and self.expr is not None:
            raise ValueError("give either 'from' or 'expr', not both")
        return self


class TransformConfig(StrictModel):
    generator: Literal["template", "llm"] = "template"
    requirements: str | None = None
    columns: dict[Identifier, ColumnSpec] = Field(default_factory=dict)
    deduplicate_on: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dedup_columns_exist(self) -> TransformConfig:
        missing = [name for name in self.deduplicate_on if self.columns and name not in self.columns]
        if missing:
            raise ValueError(f"deduplicate_on names {missing}, which are not among the declared columns")
        return self


class QualityRule(BaseModel):
    """A quality rule; its checks arrive with the quality issue, so extra keys are kept as given."""

    model_config = ConfigDict(extra="allow", frozen=True)

    rule: Literal[
        "not_null",
        "unique",
        "duplicates",
        "regex",
        "range",
        "accepted_values",
        "references",
        "row_count",
        "schema",
        "freshness",
    ]
    severity: Literal["error", "warn"] = "error"
    action: Literal["fail", "quarantine"] = "fail"


class RetryConfig(StrictModel):
    """Loads that meet a transient warehouse error are retried by a Dagster RetryPolicy with exponential backoff."""

    attempts: int = Field(default=3, ge=1, le=10)
    delay_seconds: float = Field(default=60.0, ge=0)


class LoadConfig(StrictModel):
    table: Identifier
    strategy: LoadStrategy = "merge"
    keys: list[Identifier] | None = None
    retry: RetryConfig = Field(default_factory=RetryConfig)


class DatasetConfig(StrictModel):
    injected_keys = ("name",)

    name: Annotated[str, StringConstraints(pattern=DATASET_NAME_PATTERN)]
    description: str | None = None
    extends: str | None = None
    source: SourceConfig
    partitions: PartitionsConfig = Field(default_factory=PartitionsConfig)
    warehouse: WarehouseTarget = Field(default_factory=WarehouseTarget)
    transform: TransformConfig | None = None
    quality: list[QualityRule] = Field(default_factory=list)
    load: LoadConfig

    @property
    def asset_table_path(self) -> list[str]:
        """`snowflake/<database>/<schema>/<table>` in lower case (DESIGN §1)."""
        return ["snowflake", self.warehouse.database.lower(), self.warehouse.schema_.lower(), self.load.table.lower()]


class ProjectConfig(StrictModel):
    injected_keys = ("source_file",)

    version: Literal[1] = 1
    source_file: Path
    datasets: dict[str, DatasetConfig]
