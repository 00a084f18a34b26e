"""The shape of etl_config.yaml, validated with pydantic (docs/architecture.md §2)."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, StringConstraints, field_validator, model_validator

from etl_assets.column_types import normalised_type
from etl_assets.config.alerts import AlertsConfig
from etl_assets.config.base import StrictModel
from etl_assets.config.columns import LEDGER_TABLE
from etl_assets.config.compliance import ComplianceConfig
from etl_assets.config.marts import MartConfig
from etl_assets.config.re2 import re2_named_groups
from etl_assets.config.secrets import SecretText
from etl_assets.config.timing import FreshnessConfig, ScheduleConfig
from etl_assets.quality.rule_types import RULE_CLASSES, RuleBase

IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
DATASET_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
# What YAML leaves of `type: decimal(12,2)` inside {...}: the comma ends the value there.
SPLIT_DECIMAL_TYPE = re.compile(r"^decimal\(\s*\d+\s*$")
S3_LOCATION = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?")

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
Cadence = Literal["hourly", "daily", "weekly", "monthly"]
SourceFormat = Literal["csv", "tsv", "json", "jsonl", "parquet", "xlsx", "auto"]
TEXT_FORMATS = ("csv", "tsv", "auto")
LoadStrategy = Literal["append", "merge", "truncate_insert", "replace_window"]
TextTransform = Literal["trim", "lower", "upper"]




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

    def table_name(self, table: str) -> str:
        """`DATABASE.SCHEMA.TABLE` as typed in the config (Snowflake resolves the unquoted names upper-cased)."""
        return f"{self.database}.{self.schema_}.{table}"


def _check_date_regex(value: str) -> str:
    """Partition patterns run in RE2, so no file name can make matching take exponential time."""
    if "date" not in re2_named_groups(value):
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


class S3Settings(StrictModel):
    """How an S3 landing zone is reached: the endpoint (an S3-compatible store or a local test server) and the
    credentials, a vault profile of kind s3 or an access key whose secret is a `${SECRET:profile.field}`; neither:
    the standard AWS credentials chain."""

    endpoint_url: str | None = None
    region: str | None = None
    credentials: str | None = None
    access_key_id: SecretText | None = None
    secret_access_key: SecretText | None = None
    session_token: SecretText | None = None

    @model_validator(mode="after")
    def _one_way_to_credentials(self) -> S3Settings:
        _check_access_key(self, "s3")
        return self


def _check_access_key(settings: S3Settings | LlmConfig, profile_kind: str) -> None:
    """Credentials given one way only, and secrets only as vault references, never as themselves."""
    if settings.credentials is not None and (settings.access_key_id or settings.secret_access_key or settings.session_token):
        raise ValueError("give either credentials (a vault profile) or access_key_id and secret_access_key, not both")
    if (settings.access_key_id is None) != (settings.secret_access_key is None):
        raise ValueError("give access_key_id and secret_access_key together, or neither")
    for name in ("secret_access_key", "session_token"):
        value = getattr(settings, name)
        if value is not None and not SECRET_ONLY.fullmatch(value):
            raise ValueError(f"{name} must be a reference such as ${{SECRET:{profile_kind}.{name}}}, never the secret itself; keep it in the vault")


def _single_character(value: str | None, field: str) -> str | None:
    # Arrow's CSV parser takes one ASCII character for each of these
    if value is not None and (len(value) != 1 or value in "\r\n" or not value.isascii()):
        raise ValueError(f"{field} must be one ASCII character other than a line break, got {value!r}")
    return value


class SourceConfig(StrictModel):
    path: str
    pattern: str = "*"
    format: SourceFormat = "auto"
    partition_by: PartitionBy = "arrival"
    # None: detected from the file's bytes, Western code pages preferred when detection is unsure
    encoding: str | None = None
    # delimited text (csv, tsv): None detects the delimiter from the header line
    delimiter: str | None = None
    quote: str = '"'
    # None: a quote inside a quoted field is doubled (""), as RFC 4180 and Excel write it
    escape: str | None = None
    # values read as NULL besides the empty field, e.g. ["NA", "NULL", "-"]
    null_values: list[str] = Field(default_factory=list)
    # lines before the header (a title, an export banner)
    skip_rows: int = Field(default=0, ge=0)
    # false: the first line is data, and the columns are named column_1, column_2, ...
    header: bool = True
    # ",": numbers written 1.234,56 are read as 1234.56
    decimal: Literal[".", ","] = "."
    # xlsx: the sheets to read, by name; None reads every sheet
    sheets: list[str] | None = None
    # a compressed file or zip member that would grow past this many times its compressed size is refused
    max_expansion_ratio: float = Field(default=200.0, gt=1)
    # a window whose unreadable rows exceed this share of its rows fails instead of loading
    max_reject_percent: float = Field(default=5.0, ge=0, le=100)
    # a landed file is taken only once its size and mtime have not changed for this long
    settle_seconds: float = Field(default=10.0, ge=0)
    # an S3 landing zone (path s3://bucket/prefix): endpoint and credentials
    s3: S3Settings = Field(default_factory=S3Settings)
    # an S3 prefix (s3://bucket/prefix) that also keeps every taken file, copied there before it leaves landing;
    # the local archive under ETL_ASSETS_HOME always keeps one, since windows are rebuilt from it
    archive: str | None = None

    _one_partitioning_form = field_validator("partition_by", mode="before")(_partitioning_form)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; use a name such as utf-8, cp1252 or latin-1") from None

    @field_validator("delimiter", "quote", "escape")
    @classmethod
    def _one_character(cls, value: str | None, info: Any) -> str | None:
        return _single_character(value, info.field_name)

    @field_validator("path", "archive")
    @classmethod
    def _whole_s3_location(cls, value: str | None, info: Any) -> str | None:
        if value is not None and value.startswith("s3://") and not S3_LOCATION.fullmatch(value):
            raise ValueError(f"{info.field_name} {value!r} is not an S3 location; write s3://BUCKET or s3://BUCKET/PREFIX")
        if info.field_name == "archive" and value is not None and not value.startswith("s3://"):
            raise ValueError(f"archive {value!r} must be an S3 location (s3://BUCKET/PREFIX); the local archive is always under ETL_ASSETS_HOME")
        return value

    @model_validator(mode="after")
    def _options_fit_the_format(self) -> SourceConfig:
        text_options = {"delimiter": None, "escape": None, "null_values": [], "skip_rows": 0, "header": True, "decimal": ".", "quote": '"'}
        if self.format not in TEXT_FORMATS:
            set_here = [name for name, default in text_options.items() if getattr(self, name) != default]
            if set_here:
                raise ValueError(f"{', '.join(set_here)} {'is' if len(set_here) == 1 else 'are'} read only for delimited text (format csv, tsv or auto), not {self.format}")
        if self.sheets is not None and self.format not in ("xlsx", "auto"):
            raise ValueError(f"sheets is read only for Excel workbooks (format xlsx or auto), not {self.format}")
        if self.escape is not None and self.escape == self.quote:
            raise ValueError("escape equal to quote is the default (a doubled quote); leave escape out")
        if self.decimal == "," and self.delimiter == ",":
            raise ValueError('decimal "," needs another delimiter, such as ";", since the comma already separates fields')
        delimiter = "\t" if self.format == "tsv" and self.delimiter is None else self.delimiter
        if delimiter is not None and delimiter in (self.quote, self.escape):
            raise ValueError("the delimiter must differ from quote and escape")
        return self

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

    _known_type = field_validator("type")(normalised_type)

    @model_validator(mode="after")
    def _from_or_expr(self) -> ColumnSpec:
        if self.from_ is not None and self.expr is not None:
            raise ValueError("give either 'from' or 'expr', not both")
        return self


DEFAULT_LLM_MODEL = "amazon.nova-micro-v1:0"
SECRET_ONLY = re.compile(r"\$\{SECRET:[^}]+\}")


class LlmConfig(StrictModel):
    """The model that writes a dataset's script when `generator: llm` (docs/architecture.md §7)."""

    provider: Literal["bedrock", "scripted"] = "bedrock"
    model: str = DEFAULT_LLM_MODEL
    # None: the region of the credentials profile, else the standard AWS chain's
    region: str | None = None
    temperature: float = Field(default=0.0, ge=0, le=1)
    # a vault profile of kind bedrock; or the key below, its secret a ${SECRET:profile.field}; neither: the
    # standard AWS credentials chain
    credentials: str | None = None
    access_key_id: SecretText | None = None
    secret_access_key: SecretText | None = None
    session_token: SecretText | None = None
    # sample values of the window go into the prompt only when asked: uploads can hold personal data
    share_samples: bool = False
    # provider scripted (tests and offline demos): a JSON list of replies, replayed one per call, the last repeated;
    # a relative path is taken from the config file's folder
    responses_file: Path | None = None
    request_timeout_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _one_way_to_credentials(self) -> LlmConfig:
        _check_access_key(self, "bedrock")
        return self

    @model_validator(mode="after")
    def _responses_file_for_scripted(self) -> LlmConfig:
        if self.provider == "scripted" and self.responses_file is None:
            raise ValueError("provider scripted replays responses_file; give its path (a JSON list of replies)")
        if self.provider != "scripted" and self.responses_file is not None:
            raise ValueError("responses_file is read only by provider scripted; remove it or set provider: scripted")
        return self


class SandboxConfig(StrictModel):
    """The limits every generated script runs under, in its dry run and in `transformed`."""

    timeout_seconds: float = Field(default=600.0, gt=0)
    # the memory the script may write to (RLIMIT_DATA); Python with DuckDB and Arrow needs some 300 MB to start
    memory_mb: int = Field(default=2048, ge=512)


class TransformConfig(StrictModel):
    generator: Literal["template", "llm"] = "template"
    llm: LlmConfig = Field(default_factory=LlmConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    requirements: str | None = None
    columns: dict[Identifier, ColumnSpec] = Field(default_factory=dict)
    deduplicate_on: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dedup_columns_exist(self) -> TransformConfig:
        missing = [name for name in self.deduplicate_on if self.columns and name not in self.columns]
        if missing:
            raise ValueError(f"deduplicate_on names {missing}, which are not among the declared columns")
        return self


RULE_MODELS: dict[str, type[RuleBase]] = {
    name: model for model in RULE_CLASSES for name in get_args(model.model_fields["rule"].annotation)
}


class _RuleName(StrictModel):
    rule: Literal[tuple(RULE_MODELS)]  # type: ignore[valid-type]


def _typed_rule(data: Any) -> Any:
    """Validate against the model named by `rule`, so errors name that rule's own fields."""
    if not isinstance(data, dict):
        return data
    name = _RuleName.model_validate({key: data[key] for key in ("rule",) if key in data}).rule
    return RULE_MODELS[name].model_validate(data)


AnyRule = Union[RULE_CLASSES]  # type: ignore[valid-type]
QualityRule = Annotated[AnyRule, BeforeValidator(_typed_rule)]


class RetryConfig(StrictModel):
    """Loads that meet a transient warehouse error are retried by a Dagster RetryPolicy with exponential backoff."""

    attempts: int = Field(default=3, ge=1, le=10)
    delay_seconds: float = Field(default=60.0, ge=0)


class LoadConfig(StrictModel):
    table: Identifier
    strategy: LoadStrategy = "merge"
    keys: list[Identifier] | None = None
    # merge: a row replaces the table's row of the same keys only when this column is at least as high
    sequence_by: Identifier | None = None
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
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    freshness: FreshnessConfig | None = None
    compliance: ComplianceConfig = Field(default_factory=ComplianceConfig)

    @model_validator(mode="after")
    def _compliance_names_target_columns(self) -> DatasetConfig:
        declared = self.transform.columns if self.transform is not None else {}
        unknown = [name for name in self.compliance.declared_pii if declared and name not in declared]
        if unknown:
            raise ValueError(
                f"compliance names {', '.join(unknown)}, which {'is' if len(unknown) == 1 else 'are'} not among the "
                f"transform's columns ({', '.join(declared)}); name the columns of the transformed table"
            )
        return self

    @property
    def asset_table_path(self) -> list[str]:
        """`snowflake/<database>/<schema>/<table>` in lower case (docs/architecture.md §1)."""
        return ["snowflake", self.warehouse.database.lower(), self.warehouse.schema_.lower(), self.load.table.lower()]

    @property
    def sandbox(self) -> SandboxConfig:
        """The limits its generated scripts run under: `transform.sandbox`, or the defaults without a transform."""
        return self.transform.sandbox if self.transform is not None else SandboxConfig()

    @property
    def job_name(self) -> str:
        """The Dagster job that runs the dataset's whole chain for the windows asked for."""
        return f"{self.name}_chain"

    @property
    def target_name(self) -> str:
        """The table the dataset loads into, as `DATABASE.SCHEMA.TABLE` written in the config."""
        return self.warehouse.table_name(self.load.table)

    @property
    def ledger_name(self) -> str:
        """The load ledger this dataset's loads are recorded in, one per target schema."""
        return self.warehouse.table_name(LEDGER_TABLE)


class ProjectConfig(StrictModel):
    injected_keys = ("source_file",)

    version: Literal[1] = 1
    source_file: Path
    datasets: dict[str, DatasetConfig]
    # tables built in the warehouse from the loaded datasets
    marts: dict[str, MartConfig] = Field(default_factory=dict)
    # where each failed window's alert goes besides the ledger and the log
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
