"""Credentials profiles: what each kind of connection needs, with its secret fields kept out of every repr."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, ValidationError, model_validator

from etl_assets.errors import CredentialsError

DEFAULT_BEDROCK_MODEL = "amazon.nova-micro-v1:0"
# a hash key shorter than this could be guessed by trying keys against a known value's token
MIN_HASH_KEY_CHARACTERS = 32

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class CredentialsProfile(BaseModel):
    """A set of connection settings; the fields named in `secret_fields` are SecretStr and are stored encrypted."""

    # hide_input_in_errors: a validation error must not echo the values it was given, secrets among them.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, hide_input_in_errors=True)

    kind: ClassVar[str]
    secret_fields: ClassVar[tuple[str, ...]]

    def clear_fields(self) -> dict[str, Any]:
        """The non-secret fields that are set, as JSON values under the names a user writes."""
        return self.model_dump(mode="json", by_alias=True, exclude=set(self.secret_fields), exclude_none=True)

    def secret_values(self) -> dict[str, str]:
        """The secrets that are set, in clear: only for encrypting them and for redacting them from messages."""
        values = {name: getattr(self, name) for name in self.secret_fields}
        return {name: value.get_secret_value() for name, value in values.items() if value is not None}


def load_private_key(pem: str, passphrase: str | None) -> PrivateKeyTypes:
    """The private key of a PEM text; a ValueError that names the problem but never the key or passphrase."""
    password = passphrase.encode() if passphrase is not None else None
    try:
        return serialization.load_pem_private_key(pem.encode(), password=password)
    except TypeError as exc:
        needs = "needs private_key_passphrase" if password is None else "is not encrypted, so drop the passphrase"
        raise ValueError(f"the private key {needs}") from exc
    except ValueError as exc:
        problem = "the passphrase does not open it" if password is not None else "it is not a PEM private key"
        raise ValueError(f"private_key cannot be read ({problem})") from exc


class SnowflakeProfile(CredentialsProfile):
    """A Snowflake login: password or key-pair auth, plus the session's defaults and optional connector endpoint."""

    kind: ClassVar[str] = "snowflake"
    secret_fields: ClassVar[tuple[str, ...]] = ("password", "private_key", "private_key_passphrase")

    account: Text
    user: Text
    password: SecretStr | None = None
    private_key: SecretStr | None = Field(default=None, description="The private key as PEM text.")
    private_key_passphrase: SecretStr | None = None
    role: Text | None = None
    warehouse: Text | None = None
    database: Text | None = None
    schema_: Text | None = Field(default=None, alias="schema")
    host: Text | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    protocol: Literal["http", "https"] | None = None

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> SnowflakeProfile:
        if (self.password is None) == (self.private_key is None):
            raise ValueError("give exactly one of password and private_key")
        if self.private_key_passphrase is not None and self.private_key is None:
            raise ValueError("private_key_passphrase is only used with private_key")
        if self.private_key is not None:
            load_private_key(self.private_key.get_secret_value(), self._passphrase())
        return self

    @property
    def auth(self) -> Literal["password", "key_pair"]:
        return "password" if self.password is not None else "key_pair"

    def private_key_der(self) -> bytes:
        """The private key as unencrypted PKCS8 DER, the form `snowflake.connector.connect(private_key=...)` takes."""
        if self.private_key is None:
            raise CredentialsError(f"The snowflake profile for user {self.user} logs in with a password, not a key.")
        key = load_private_key(self.private_key.get_secret_value(), self._passphrase())
        return key.private_bytes(
            encoding=serialization.Encoding.DER,
            format=serialization.PrivateFormat.PKCS8,
            encryption_algorithm=serialization.NoEncryption(),
        )

    def connection_args(self) -> dict[str, Any]:
        """Keyword arguments for `snowflake.connector.connect`: one way to log in, and only the settings given."""
        login: dict[str, Any] = (
            {"password": self.password.get_secret_value()}
            if self.password is not None
            else {"private_key": self.private_key_der()}
        )
        optional = {
            "role": self.role,
            "warehouse": self.warehouse,
            "database": self.database,
            "schema": self.schema_,
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol,
        }
        return {
            "account": self.account,
            "user": self.user,
            **login,
            **{name: value for name, value in optional.items() if value is not None},
        }

    def _passphrase(self) -> str | None:
        return self.private_key_passphrase.get_secret_value() if self.private_key_passphrase is not None else None


def _aws_client_args(profile: S3Profile | BedrockProfile) -> dict[str, Any]:
    """boto3 client keyword arguments for the AWS settings that are set."""
    values = {
        "aws_access_key_id": profile.access_key_id,
        "aws_secret_access_key": profile.secret_access_key.get_secret_value() if profile.secret_access_key else None,
        "aws_session_token": profile.session_token.get_secret_value() if profile.session_token else None,
        "region_name": profile.region,
    }
    return {name: value for name, value in values.items() if value is not None}


class S3Profile(CredentialsProfile):
    """An S3 access key, for landing zones on S3 or an S3-compatible endpoint."""

    kind: ClassVar[str] = "s3"
    secret_fields: ClassVar[tuple[str, ...]] = ("secret_access_key", "session_token")

    access_key_id: Text
    secret_access_key: SecretStr
    session_token: SecretStr | None = None
    region: Text | None = None
    endpoint_url: Text | None = None

    def client_args(self) -> dict[str, Any]:
        """Keyword arguments for `boto3.client("s3", ...)`."""
        endpoint = {"endpoint_url": self.endpoint_url} if self.endpoint_url else {}
        return {**_aws_client_args(self), **endpoint}


class BedrockProfile(CredentialsProfile):
    """The Bedrock model that writes ETL scripts, with an access key or, without one, the default AWS credentials."""

    kind: ClassVar[str] = "bedrock"
    secret_fields: ClassVar[tuple[str, ...]] = ("secret_access_key", "session_token")

    region: Text
    access_key_id: Text | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    model_id: Text = DEFAULT_BEDROCK_MODEL

    @model_validator(mode="after")
    def _whole_access_key(self) -> BedrockProfile:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("give access_key_id and secret_access_key together, or neither")
        if self.session_token is not None and self.access_key_id is None:
            raise ValueError("session_token is only used with access_key_id and secret_access_key")
        return self

    def client_args(self) -> dict[str, Any]:
        """Keyword arguments for `boto3.client("bedrock-runtime", ...)`."""
        return _aws_client_args(self)


class HashKeyProfile(CredentialsProfile):
    """The key of `compliance.mask: hash`; replacing it changes every token, so hashed columns no longer join
    (docs/architecture.md §8)."""

    kind: ClassVar[str] = "hash_key"
    secret_fields: ClassVar[tuple[str, ...]] = ("key",)

    key: SecretStr

    @model_validator(mode="after")
    def _long_enough(self) -> HashKeyProfile:
        if len(self.key.get_secret_value()) < MIN_HASH_KEY_CHARACTERS:
            raise ValueError(f"key needs at least {MIN_HASH_KEY_CHARACTERS} characters; `--generate` makes one")
        return self


Profile = SnowflakeProfile | S3Profile | BedrockProfile | HashKeyProfile
PROFILE_TYPES: dict[str, type[Profile]] = {
    cls.kind: cls for cls in (SnowflakeProfile, S3Profile, BedrockProfile, HashKeyProfile)
}


def build_profile(kind: str, fields: Mapping[str, Any]) -> Profile:
    """A validated profile of `kind`; a bad field gives a one-sentence CredentialsError that never echoes a value."""
    profile_type = PROFILE_TYPES.get(kind)
    if profile_type is None:
        raise CredentialsError(f"There is no profile kind '{kind}'; use one of {', '.join(PROFILE_TYPES)}.")
    try:
        return profile_type.model_validate(dict(fields))
    except ValidationError as exc:
        problems = validation_problems(exc, profile_type)
        raise CredentialsError(f"The {kind} profile is not valid ({problems}); correct it and set it again.") from None


def validation_problems(exc: ValidationError, profile_type: type[Profile]) -> str:
    """The problems of a failed validation, by field, without the values."""
    return "; ".join(_problem(error, profile_type) for error in exc.errors(include_input=False))


def _problem(error: Any, profile_type: type[Profile]) -> str:
    field = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(info.alias or name for name, info in profile_type.model_fields.items())
        return f"unknown field '{field}', allowed: {allowed}"
    if error["type"] == "missing":
        return f"'{field}' is required"
    message = error["msg"].removeprefix("Value error, ")
    return f"'{field}': {message}" if field else message
