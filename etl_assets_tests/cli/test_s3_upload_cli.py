"""`etl-assets upload` and `status` on an S3 landing zone (moto's S3 server on loopback)."""

from __future__ import annotations

import hashlib

import pytest

from etl_assets_tests.project_config import write_project_config
from etl_assets_tests.s3_server import DUMMY_CREDENTIALS

pytestmark = pytest.mark.integration


@pytest.fixture
def bucket(cli, tmp_path, s3_server) -> str:
    """A fresh bucket that dataset `events` lands in; `local_events` lands in a folder. Neither loads into the local
    emulator, so `status` does not start it."""
    name = s3_server.new_bucket()
    cli.env.update(DUMMY_CREDENTIALS)
    cli.env["ETL_ASSETS_CONFIG"] = str(
        write_project_config(
            tmp_path / "etl_config.yaml",
            f"""
              events:
                source: {{path: "s3://{name}/landing", pattern: "*.csv", s3: {{endpoint_url: "{s3_server.endpoint_url}"}}}}
                warehouse: {{connection: prod}}
                load: {{table: EVENTS}}
              local_events:
                source: {{path: "{cli.home}/landing/local_events", pattern: "*.csv"}}
                warehouse: {{connection: prod}}
                load: {{table: LOCAL_EVENTS}}
              lost:
                source: {{path: "s3://no-such-bucket-here/landing", s3: {{endpoint_url: "{s3_server.endpoint_url}"}}}}
                warehouse: {{connection: prod}}
                load: {{table: LOST}}
            """,
        )
    )
    return name


def _one_error_line(result) -> str:
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    return line


def test_upload_puts_the_file_into_the_bucket_in_one_put_and_refuses_a_name_already_waiting(cli, tmp_path, s3_server, bucket):
    big = tmp_path / "big.csv"
    # past boto3's 8 MB multipart threshold: one PUT shows as an ETag that is the MD5 of the bytes, without a -N suffix
    content = b"id,payload\n" + b"".join(b"%d,%s\n" % (n, b"x" * 90) for n in range(100_000))
    big.write_bytes(content)

    uploaded = cli.run("upload", str(big), "--dataset", "events")

    assert uploaded.returncode == 0, uploaded.stderr
    head = s3_server.client().head_object(Bucket=bucket, Key="landing/big.csv")
    assert head["ETag"] == f'"{hashlib.md5(content).hexdigest()}"'
    assert f"-> s3://{bucket}/landing/big.csv (window {head['LastModified']:%Y-%m-%d}); it is taken now" in uploaded.stdout
    big.write_text("id\n1\n")
    again = cli.run("upload", str(big), "--dataset", "events")
    assert f"error: Not uploaded: 'big.csv' is already waiting in s3://{bucket}/landing for dataset 'events'" in _one_error_line(again)
    assert s3_server.client().head_object(Bucket=bucket, Key="landing/big.csv")["ETag"] == head["ETag"]


def test_upload_to_a_missing_bucket_says_so_in_one_sentence(cli, tmp_path, bucket):
    upload = tmp_path / "day.csv"
    upload.write_text("id\n1\n")

    line = _one_error_line(cli.run("upload", str(upload), "--dataset", "lost"))

    assert line.startswith("error: The S3 bucket of s3://no-such-bucket-here/landing does not exist at http://127.0.0.1:")
    assert line.endswith("; create it, or correct source.path in etl_config.yaml.")


def test_status_lists_what_waits_in_a_bucket_and_what_every_zone_set_aside(cli, s3_server, bucket):
    client = s3_server.client()
    for key, body in (("landing/a.csv", "id\n1\n"), ("landing/b.csv", "id\n2\n"), ("landing/_failed/bad.csv", "x"), ("landing/_failed/bad.csv.reason.txt", "'bad.csv' is not CSV.\nmore detail\n")):
        client.put_object(Bucket=bucket, Key=key, Body=body.encode())
    local_failed = cli.home / "landing/local_events/_failed"
    local_failed.mkdir(parents=True)
    (local_failed / "old.csv").write_text("x")
    (local_failed / "old.csv.reason.txt").write_text("'old.csv' is empty.\n")

    result = cli.run("status")

    assert result.returncode == 0, result.stderr
    assert (
        "events -> ANALYTICS.RAW.EVENTS\n  waiting in landing: 2 files, oldest 0 min ago\n"
        f"  set aside as unreadable in s3://{bucket}/landing/_failed: 1 file\n    bad.csv: 'bad.csv' is not CSV.\n  windows uploaded: 0"
    ) in result.stdout
    assert (
        "  still settling in landing: 0 files (taken once unchanged for 10 s)\n"
        f"  set aside as unreadable in {cli.home}/landing/local_events/_failed: 1 file\n    old.csv: 'old.csv' is empty.\n"
    ) in result.stdout
    assert "lost -> ANALYTICS.RAW.LOST\n  landing zone: The S3 bucket of s3://no-such-bucket-here/landing does not exist" in result.stdout
