"""S3 landing zones against moto's S3 server on loopback: listing, identity by ETag and size, archive then delete,
a whole window ingested, unreadable objects set aside, and errors as one sentence."""

from __future__ import annotations

import hashlib
import io
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from etl_assets.config.models import PartitionsConfig
from etl_assets.errors import LandingZoneError
from etl_assets.ingest.s3_landing import S3LandingZone, s3_failure
from etl_assets.ingest.upload import ingest_window
from etl_assets.ingest.windows import window_from_key
from etl_assets.paths import ProjectPaths

from .helpers import dataset

DAY = window_from_key("2026-11-20", PartitionsConfig())
BY_NAME = {"filename": r"_(?P<date>\d{8})\."}


def zone_of(s3_server, bucket: str, **source: object) -> S3LandingZone:
    return S3LandingZone(dataset(f"s3://{bucket}/landing", **source).source, s3_server.client())


def put(client, bucket: str, key: str, body: bytes | str) -> None:
    client.put_object(Bucket=bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)


def body_of(client, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def keys_of(client, bucket: str) -> list[str]:
    return sorted(entry["Key"] for entry in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def on_call(client, operation: str, action) -> None:
    """Run `action` each time `client` is about to call `operation`: another writer acting at that instant."""
    client.meta.events.register(f"before-call.s3.{operation}", lambda **_: action())


@pytest.mark.integration
def test_listing_pages_through_every_upload_and_leaves_sub_prefixes_and_other_names_alone(s3_server):
    bucket, client = s3_server.new_bucket(), s3_server.client()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: put(client, bucket, f"landing/part-{n:04d}.csv", "id\n1\n"), range(1500)))
    for key in ("landing/_failed/old.csv", "landing/_failed/old.csv.reason.txt", "landing/nested/deep.csv", "landing/.hidden.csv", "landing/big.csv.part", "landing/notes.txt", "other/part.csv", "landing/"):
        put(client, bucket, key, "x")

    files = zone_of(s3_server, bucket, pattern="*.csv").list_files()

    assert sorted(file.name for file in files) == [f"part-{n:04d}.csv" for n in range(1500)]
    first = files[0]
    assert (first.path, first.size, first.arrived_at.tzinfo) == (None, 5, UTC)
    assert first.etag == '"' + hashlib.md5(b"id\n1\n").hexdigest() + '"'


@pytest.mark.integration
def test_an_object_overwritten_between_listing_and_copy_is_not_taken_and_waits_for_the_next_run(s3_server, tmp_path):
    bucket, client = s3_server.new_bucket(), s3_server.client()
    put(client, bucket, "landing/orders_20261120.csv", "id\n1\n")
    zone = zone_of(s3_server, bucket, partition_by=BY_NAME)
    overwrite_once = iter([lambda: put(s3_server.client(), bucket, "landing/orders_20261120.csv", "id\n2\n")])
    on_call(zone.client, "GetObject", lambda: next(overwrite_once, lambda: None)())
    paths = ProjectPaths(tmp_path / "home")

    first = ingest_window(dataset(f"s3://{bucket}/landing", partition_by=BY_NAME), paths, DAY, zone=zone)

    assert (first.row_count, first.new_files, first.settling_files) == (0, 0, 1)
    assert body_of(client, bucket, "landing/orders_20261120.csv") == b"id\n2\n"
    second = ingest_window(dataset(f"s3://{bucket}/landing", partition_by=BY_NAME), paths, DAY, zone=zone)
    assert pq.read_table(second.output_path).column("id").to_pylist() == ["2"]
    assert keys_of(client, bucket) == []


@pytest.mark.integration
def test_an_object_overwritten_after_its_copy_stays_in_landing_for_the_next_run(s3_server):
    bucket, client = s3_server.new_bucket(), s3_server.client()
    put(client, bucket, "landing/a.csv", "id\n1\n")
    zone = zone_of(s3_server, bucket)
    [listed] = zone.list_files()
    copied = zone.copy_out(listed, io.BytesIO())
    put(client, bucket, "landing/a.csv", "id\n9\n")  # same size, other bytes: only the ETag tells them apart

    zone.remove(listed, copied)

    assert body_of(client, bucket, "landing/a.csv") == b"id\n9\n"
    assert zone.copy_out(listed, io.BytesIO()) is None, "the listed ETag no longer matches"
    [again] = zone.list_files()
    target = io.BytesIO()
    assert zone.copy_out(again, target) == (again.etag, 5) and target.getvalue() == b"id\n9\n"


@pytest.mark.integration
def test_with_an_archive_prefix_each_object_is_copied_there_before_it_leaves_landing(s3_server, tmp_path):
    bucket, client = s3_server.new_bucket(), s3_server.client()
    put(client, bucket, "landing/orders_20261120.csv", "id\n1\n")
    source = {"partition_by": BY_NAME, "archive": f"s3://{bucket}/kept/orders"}
    zone = zone_of(s3_server, bucket, **source)
    [listed] = zone.list_files()
    archive_key = f"kept/orders/{listed.arrived_at:%Y/%m/%d}/{listed.etag.strip(chr(34))}-orders_20261120.csv"
    archived_before_delete = []
    on_call(zone.client, "DeleteObject", lambda: archived_before_delete.append(body_of(client, bucket, archive_key)))

    ingest_window(dataset(f"s3://{bucket}/landing", **source), ProjectPaths(tmp_path / "home"), DAY, zone=zone)

    assert archived_before_delete == [b"id\n1\n"]
    assert keys_of(client, bucket) == [archive_key]


def _sample_files() -> dict[str, bytes]:
    parquet = io.BytesIO()
    pq.write_table(pa.table({"id": [6], "name": ["fay"]}), parquet)
    return {
        "a_20261120.csv": b"id,name\n1,ann\n2,bob\n",
        "b_20261120.tsv": b"id\tname\n3\tcat\n",
        "c_20261120.json": b'[{"id": 4, "name": "dan"}]',
        "d_20261120.jsonl": b'{"id": 5, "name": "eve"}\n',
        "e_20261120.parquet": parquet.getvalue(),
    }


@pytest.mark.integration
def test_a_window_is_ingested_from_a_bucket_in_every_format_and_an_unreadable_object_is_set_aside(s3_server, tmp_path):
    bucket, client = s3_server.new_bucket(), s3_server.client()
    for name, content in _sample_files().items():
        put(client, bucket, f"landing/{name}", content)
    put(client, bucket, "landing/broken_20261120.parquet", b"this is not parquet")
    put(client, bucket, "landing/_failed/broken_20261120.parquet", b"set aside by an earlier run")
    put(client, bucket, "landing/_failed/broken_20261120.parquet.reason.txt", b"an earlier reason\n")
    orders = dataset(f"s3://{bucket}/landing", partition_by=BY_NAME)
    zone = S3LandingZone(orders.source, s3_server.client())

    result = ingest_window(orders, ProjectPaths(tmp_path / "home"), DAY, zone=zone)

    rows = pq.read_table(result.output_path).select(["id", "name", "_source_file"]).to_pylist()
    assert sorted((str(row["id"]), row["name"]) for row in rows) == [("1", "ann"), ("2", "bob"), ("3", "cat"), ("4", "dan"), ("5", "eve"), ("6", "fay")]
    assert {row["_source_file"] for row in rows} == set(_sample_files())
    assert result.new_files == 5
    [failed] = result.failed_files
    assert failed.location == f"s3://{bucket}/landing/_failed/broken_20261120-2.parquet"
    assert "broken_20261120.parquet" in failed.reason
    assert body_of(client, bucket, "landing/_failed/broken_20261120-2.parquet") == b"this is not parquet"
    assert body_of(client, bucket, "landing/_failed/broken_20261120-2.parquet.reason.txt").decode() == failed.reason.rstrip("\n") + "\n"
    assert [key for key in keys_of(client, bucket) if not key.startswith("landing/_failed/")] == []
    assert sorted((file.name, file.reason) for file in zone.failed_files()) == [
        ("broken_20261120-2.parquet", failed.reason.strip()),
        ("broken_20261120.parquet", "an earlier reason"),
    ]


@pytest.mark.integration
def test_a_missing_bucket_and_an_unreachable_endpoint_each_give_one_sentence(s3_server):
    with pytest.raises(LandingZoneError) as missing:
        zone_of(s3_server, "no-such-bucket").list_files()
    assert str(missing.value) == (
        f"The S3 bucket of s3://no-such-bucket/landing does not exist at {s3_server.endpoint_url}; "
        "create it, or correct source.path in etl_config.yaml."
    )

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = boto3.client("s3", endpoint_url=closed, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    with pytest.raises(LandingZoneError) as unreached:
        S3LandingZone(dataset("s3://somewhere/landing").source, unreachable).list_files()
    assert str(unreached.value) == (
        f"S3 could not be reached at {closed} for s3://somewhere/landing; check source.s3.endpoint_url and the network."
    )
    assert unreached.value.__cause__ is None and unreached.value.__suppress_context__


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2"), "S3 refused access to s3://b/p (AccessDenied); check the credentials in source.s3"),
        (ClientError({"Error": {"Code": "SlowDown"}}, "GetObject"), "S3 answered SlowDown for s3://b/p; check source.path and source.s3"),
        (NoCredentialsError(), "No AWS credentials were found for s3://b/p; name an s3 profile in source.s3.credentials"),
    ],
)
def test_each_kind_of_s3_failure_is_one_sentence_saying_what_to_fix(error, says):
    message = s3_failure(error, "s3://b/p", "https://s3.amazonaws.com")
    assert message.startswith(says) and message.count(". ") == 0 and message.endswith(".")


@pytest.mark.integration
def test_a_landing_zone_at_the_bucket_root_lists_and_places_at_the_top_level(s3_server, tmp_path):
    bucket, client = s3_server.new_bucket(), s3_server.client()
    upload = tmp_path / "day.csv"
    upload.write_text("id\n1\n")
    zone = S3LandingZone(dataset(f"s3://{bucket}").source, s3_server.client())

    placed = zone.place(upload, "day.csv")

    assert zone.location == f"s3://{bucket}"
    assert zone.place(upload, "day.csv") is None, "an object of that name is waiting already"
    assert zone.list_files() == [placed]
    assert keys_of(client, bucket) == ["day.csv"]
