"""The upload sensor and the upload asset on an S3 landing zone (moto's S3 server), through the landing_zones resource."""

from __future__ import annotations

import dagster as dg
import pyarrow.parquet as pq
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from etl_assets.credentials import FERNET_KEY_ENV, S3Profile, Vault
from etl_assets.defs import build_definitions
from etl_assets.defs.resources import CredentialsVault, LandingZones, ProjectHome
from etl_assets.ingest.upload import upload_path
from etl_assets_tests.defs.conftest import project_with
from etl_assets_tests.s3_server import DUMMY_CREDENTIALS

SECRET = "s3/Secret+Key-of-the-vault"

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_project(tmp_path, monkeypatch, s3_server):
    """An `events` dataset landing in a fresh bucket, dated by its file names; the standard AWS chain gives moto's
    dummy credentials."""
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = s3_server.new_bucket()
    project = project_with(
        tmp_path,
        monkeypatch,
        f"""
              events:
                source:
                  path: s3://{bucket}/landing
                  pattern: "*.csv"
                  partition_by: {{filename: 'events_(?P<date>\\d{{8}})\\.csv'}}
                  s3: {{endpoint_url: "{s3_server.endpoint_url}"}}
                load: {{table: EVENTS}}
        """,
    )
    project.bucket = bucket
    return project


def evaluate(project, cursor: str | None = None) -> dg.SensorResult | dg.SkipReason:
    defs = build_definitions(project.config)
    resources = {"landing_zones": defs.resources["landing_zones"], "project": defs.resources["project"]}
    with dg.DagsterInstance.ephemeral() as instance, dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=resources) as context:
        return defs.resolve_sensor_def("events_uploads")(context)


def test_the_sensor_requests_the_windows_of_new_objects_in_a_bucket(s3_project, s3_server):
    client = s3_server.client()
    for name in ("events_20261119.csv", "events_20261120.csv", "_failed/events_20261118.csv", "notes.txt"):
        client.put_object(Bucket=s3_project.bucket, Key=f"landing/{name}", Body=b"id\n1\n")

    first = evaluate(s3_project)

    assert sorted(request.partition_key for request in first.run_requests) == ["2026-11-19", "2026-11-20"]
    assert evaluate(s3_project, cursor=first.cursor).run_requests == []


def test_the_sensor_skips_with_one_sentence_when_the_bucket_is_missing(s3_project, s3_server):
    s3_project.config_path.write_text(s3_project.config_path.read_text().replace(s3_project.bucket, "no-such-bucket-here"))

    skipped = evaluate(s3_project)

    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message.startswith("The S3 bucket of s3://no-such-bucket-here/landing does not exist at ")


def test_the_upload_asset_takes_a_window_from_the_bucket(s3_project, s3_server):
    client = s3_server.client()
    client.put_object(Bucket=s3_project.bucket, Key="landing/events_20261120.csv", Body=b"id,kind\n1,click\n2,view\n")
    upload = next(a for a in build_definitions(s3_project.config).assets if a.key == dg.AssetKey(["uploads", "events"]))

    result = dg.materialize(
        [upload],
        resources={"project": ProjectHome(home=str(s3_project.paths.home)), "landing_zones": LandingZones()},
        tags={ASSET_PARTITION_RANGE_START_TAG: "2026-11-20", ASSET_PARTITION_RANGE_END_TAG: "2026-11-20"},
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    assert pq.read_table(upload_path(s3_project.paths, "events", "2026-11-20")).column("kind").to_pylist() == ["click", "view"]
    assert client.list_objects_v2(Bucket=s3_project.bucket).get("KeyCount") == 0


def test_the_resource_decrypts_an_s3_profile_only_when_a_zone_is_asked_for(s3_project, s3_server, monkeypatch):
    key = Vault.new_key()
    monkeypatch.setenv(FERNET_KEY_ENV, key)
    Vault.for_home(s3_project.paths.home).set("lake", S3Profile(access_key_id="AKIAPROFILE", secret_access_key=SECRET))
    config = s3_project.config_path.read_text().replace("s3: {endpoint_url:", "s3: {credentials: lake, endpoint_url:")
    s3_project.config_path.write_text(config)
    s3_server.client().put_object(Bucket=s3_project.bucket, Key="landing/events_20261120.csv", Body=b"id\n1\n")
    wired = build_definitions(s3_project.config).resources["landing_zones"]
    assert isinstance(wired.vault.fernet_key, dg.EnvVar), "a dataset reading S3 through the vault needs its key"
    zones = LandingZones(vault=CredentialsVault(fernet_key=key, home=str(s3_project.paths.home)))

    zone = zones.zone_for(s3_project.config.datasets["events"])

    assert zone.client._request_signer._credentials.secret_key == SECRET
    assert [file.name for file in zone.list_files()] == ["events_20261120.csv"]
    assert SECRET not in repr(zones) and SECRET not in zones.model_dump_json()
