"""An S3 prefix as a landing zone (docs/architecture.md §3).

The uploads are the objects directly under `s3://bucket/prefix/`, each identified by its ETag and size. Key layouts:
- unreadable objects: `<prefix>/_failed/<name>` (`<stem>-2<ext>`, `-3`... when taken) with `<name>.reason.txt` beside it;
- `source.archive`: each taken object is first copied to `<archive-prefix>/<yyyy>/<mm>/<dd>/<etag>-<name>`, dated by
  its LastModified (UTC); a key made of the ETag and name only ever holds those bytes, so nothing is overwritten.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError, PartialCredentialsError

from etl_assets.config.models import S3Settings, SourceConfig
from etl_assets.credentials.vault import Vault, resolve_secrets
from etl_assets.errors import LandingZoneError
from etl_assets.ingest.landing import COPY_CHUNK_BYTES, FAILED_FOLDER, REASON_SUFFIX, FailedFile, LandedFile, LandingScan, ignored_because
from etl_assets.paths import ProjectPaths

S3_SCHEME = "s3://"
# a conditional request lost: the key holds other content (412), or another writer's request is in flight (409)
TAKEN = {"PreconditionFailed", "ConditionalRequestConflict"}
CHANGED_OR_GONE = TAKEN | {"NoSuchKey", "404"}
REFUSED = {"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "403"}


class S3LandingZone:
    """An S3 prefix; every object listed is ready, since S3 shows an object only once its upload is complete."""

    def __init__(self, source: SourceConfig, client: Any) -> None:
        self.source = source
        self.client = client
        self.bucket, self.prefix = split_location(source.path)
        self.location = f"{S3_SCHEME}{self.bucket}/{self.prefix}".rstrip("/")

    def scan(self, now: datetime | None = None) -> LandingScan:
        return LandingScan(ready=self.list_files(), settling=[])

    def list_files(self) -> list[LandedFile]:
        """The uploads in arrival order; hidden, partially written and other-pattern names, and sub-prefixes such as
        `_failed/`, are left alone."""
        files = [
            LandedFile(None, name, listed["Size"], listed["LastModified"].astimezone(UTC), listed["ETag"])
            for name, listed in self._listed(self.prefix).items()
            if not ignored_because(name, self.source.pattern)
        ]
        return sorted(files, key=lambda file: (file.arrived_at, file.name))

    def copy_out(self, file: LandedFile, target: BinaryIO) -> tuple[str, int] | None:
        """Stream the object as it was listed (If-Match its ETag) into `target`, chunk by chunk; its (ETag, size), or
        None when it changed or is gone."""
        with self._s3_errors():
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=self._key(file.name), IfMatch=file.etag)["Body"]
            except ClientError as exc:
                if _code(exc) in CHANGED_OR_GONE:
                    return None
                raise
            copied = 0
            with closing(body):
                for chunk in body.iter_chunks(COPY_CHUNK_BYTES):
                    copied += target.write(chunk)
        return (file.etag, file.size) if copied == file.size else None

    def remove(self, file: LandedFile, copied: tuple[str, int]) -> None:
        """Copy the object to `source.archive` when set, then delete it, unless a new upload took its name meanwhile."""
        etag, _ = copied
        with self._s3_errors():
            if self.source.archive and not self._archived(file, etag):
                return
            self._delete_if_unchanged(self._key(file.name), etag)

    def set_aside(self, file: LandedFile, reason: str) -> str:
        assert file.etag is not None
        failed_key = self._claim_failed_key(file.name, reason)
        with self._s3_errors():
            self.client.copy_object(Bucket=self.bucket, Key=failed_key, CopySource={"Bucket": self.bucket, "Key": self._key(file.name)})
            self._delete_if_unchanged(self._key(file.name), file.etag)
        return f"{S3_SCHEME}{self.bucket}/{failed_key}"

    def failed_files(self) -> list[FailedFile]:
        """The objects set aside, oldest first."""
        listed = self._listed(self._key(FAILED_FOLDER))
        failed = []
        with self._s3_errors():
            for reason_name, reason in listed.items():
                name = reason_name.removesuffix(REASON_SUFFIX)
                if reason_name.endswith(REASON_SUFFIX) and name in listed:
                    key = self._key(f"{FAILED_FOLDER}/{name}")
                    text = self.client.get_object(Bucket=self.bucket, Key=key + REASON_SUFFIX)["Body"].read().decode("utf-8", "replace")
                    failed.append(FailedFile(name, f"{S3_SCHEME}{self.bucket}/{key}", text.strip(), reason["LastModified"].astimezone(UTC)))
        return sorted(failed, key=lambda file: (file.failed_at, file.name))

    def place(self, source_file: Path, name: str) -> LandedFile | None:
        """Upload a local file as `name` in one PUT (not multipart, so at most 5 GB); None when an object of that name is
        waiting already (If-None-Match, which AWS and moto honour, so no other upload is ever replaced)."""
        key = self._key(name)
        with self._s3_errors(), source_file.open("rb") as body:
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*")
            except ClientError as exc:
                if _code(exc) in TAKEN:
                    return None
                raise
            placed = self.client.head_object(Bucket=self.bucket, Key=key)
        return LandedFile(None, name, placed["ContentLength"], placed["LastModified"].astimezone(UTC), placed["ETag"])

    def _listed(self, prefix: str) -> dict[str, dict[str, Any]]:
        """The objects directly under `prefix/`, by name: the delimiter keeps sub-prefixes (`_failed/`) out."""
        folder = f"{prefix}/" if prefix else ""
        listed = {}
        with self._s3_errors():
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder, Delimiter="/"):
                for entry in page.get("Contents", []):
                    if name := entry["Key"][len(folder) :]:  # the empty name is a folder marker `prefix/`
                        listed[name] = entry
        return listed

    def _archived(self, file: LandedFile, etag: str) -> bool:
        """Copy the landed object to the archive prefix; False when it changed since it was copied out."""
        bucket, prefix = split_location(self.source.archive or "")
        bare_etag = etag.strip('"')
        key = "/".join(part for part in (prefix, f"{file.arrived_at:%Y/%m/%d}", f"{bare_etag}-{file.name}") if part)
        try:
            # AWS refuses the copy when the object changed since it was copied out; moto ignores the condition
            self.client.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": self._key(file.name)}, CopySourceIfMatch=etag)
        except ClientError as exc:
            if _code(exc) in CHANGED_OR_GONE:
                return False
            raise
        return True

    def _delete_if_unchanged(self, key: str, etag: str) -> None:
        # AWS and moto refuse a DELETE whose If-Match fails, but other S3-compatible stores may ignore the header, so it
        # cannot be relied on: the HEAD decides, leaving only the instant between HEAD and DELETE unguarded there.
        try:
            if self.client.head_object(Bucket=self.bucket, Key=key)["ETag"] == etag:
                self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=etag)
        except ClientError as exc:
            if _code(exc) not in CHANGED_OR_GONE:
                raise

    def _claim_failed_key(self, name: str, reason: str) -> str:
        """The first free `_failed/` key for `name`, claimed by writing its reason object with If-None-Match, so two
        runs never claim the same key and nothing set aside earlier is replaced."""
        path = PurePosixPath(name)
        text = (reason.rstrip("\n") + "\n").encode("utf-8")
        with self._s3_errors():
            for counter in itertools.count(1):
                key = self._key(f"{FAILED_FOLDER}/{name if counter == 1 else f'{path.stem}-{counter}{path.suffix}'}")
                try:
                    self.client.put_object(Bucket=self.bucket, Key=key + REASON_SUFFIX, Body=text, IfNoneMatch="*", ContentType="text/plain; charset=utf-8")
                    return key
                except ClientError as exc:
                    if _code(exc) not in TAKEN:
                        raise

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    @contextmanager
    def _s3_errors(self) -> Iterator[None]:
        try:
            yield
        except (BotoCoreError, ClientError) as exc:
            raise LandingZoneError(s3_failure(exc, self.location, self.client.meta.endpoint_url)) from None


def split_location(location: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket/prefix`, the prefix without leading or trailing slashes."""
    bucket, _, prefix = location.removeprefix(S3_SCHEME).partition("/")
    return bucket, prefix.strip("/")


def s3_failure(exc: BaseException, location: str, endpoint: str) -> str:
    """One sentence for a failed S3 call, from botocore's error codes; never the request, which carries credentials."""
    if isinstance(exc, ClientError):
        code = _code(exc)
        if code == "NoSuchBucket":
            return f"The S3 bucket of {location} does not exist at {endpoint}; create it, or correct source.path in etl_config.yaml."
        if code in REFUSED:
            return f"S3 refused access to {location} ({code}); check the credentials in source.s3 and that they may list, read, write and delete there."
        return f"S3 answered {code or 'an error without a code'} for {location}; check source.path and source.s3 in etl_config.yaml."
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return f"No AWS credentials were found for {location}; name an s3 profile in source.s3.credentials, give access_key_id and secret_access_key, or set up the AWS credentials chain."
    if isinstance(exc, EndpointConnectionError):
        return f"S3 could not be reached at {endpoint} for {location}; check source.s3.endpoint_url and the network."
    return f"S3 could not be reached at {endpoint} for {location} ({type(exc).__name__}); check source.s3.endpoint_url and the network, then retry."


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def s3_client_args(settings: S3Settings, vault: Vault) -> dict[str, Any]:
    """boto3 client arguments for an S3 landing zone, secrets decrypted now: the vault profile (kind s3), or the access
    key with its `${SECRET:profile.field}` references resolved; neither gives none, so the standard AWS chain applies.
    The settings' endpoint_url and region win over the profile's."""
    if settings.credentials:
        args = vault.get(settings.credentials, kind="s3").client_args()
    else:
        keys = {"aws_access_key_id": settings.access_key_id, "aws_secret_access_key": settings.secret_access_key, "aws_session_token": settings.session_token}
        args = {name: resolve_secrets(vault, value) for name, value in keys.items() if value}
    overrides = {"endpoint_url": settings.endpoint_url, "region_name": settings.region}
    return args | {name: value for name, value in overrides.items() if value}


def s3_client_for(source: SourceConfig, vault: Vault | None = None) -> Any:
    """A boto3 S3 client for the source's S3 settings, credentials from `vault` (default: the one under ETL_ASSETS_HOME)."""
    import boto3
    from botocore.config import Config

    args = s3_client_args(source.s3, vault or Vault.for_home(ProjectPaths.from_env().home))
    # a few quick attempts: an unreachable endpoint is reported in seconds, not after minutes of retries
    return boto3.client("s3", config=Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}), **args)
