"""deploy/helm/values.yaml runs this code location on the official chart with the instance settings of dagster.yaml."""

from __future__ import annotations

import yaml

from etl_assets_tests.cli.conftest import REPO


def helm_values() -> dict:
    return yaml.safe_load((REPO / "deploy/helm/values.yaml").read_text())


def user_deployment() -> dict:
    return helm_values()["dagster-user-deployments"]["deployments"][0]


def test_the_user_deployment_serves_this_code_location_from_its_image():
    deployment = user_deployment()
    assert deployment["image"]["repository"].endswith("/etl-assets") and deployment["image"]["tag"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == "etl_assets.definitions"
    assert deployment["port"] == 3030


def test_the_user_deployment_fans_steps_out_and_reads_its_secrets():
    deployment = user_deployment()
    assert deployment["env"]["ETL_ASSETS_EXECUTOR"] == "k8s_job"
    assert deployment["env"]["ETL_ASSETS_CONFIG"]
    assert {"name": "etl-assets"} in deployment["envSecrets"]


def test_runs_launch_as_kubernetes_jobs_with_the_same_secrets():
    launcher = helm_values()["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    assert {"name": "etl-assets"} in launcher["config"]["k8sRunLauncher"]["envSecrets"]


def test_the_code_server_and_every_run_pod_mount_one_shared_home_and_land_on_s3():
    values = helm_values()
    deployment = user_deployment()
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    home = deployment["env"]["ETL_ASSETS_HOME"]
    for pod in (deployment, launcher):
        [volume] = pod["volumes"]
        assert volume["persistentVolumeClaim"]["claimName"] == "etl-assets-home"
        assert pod["volumeMounts"] == [{"name": volume["name"], "mountPath": home}]
    assert deployment["env"]["ETL_LANDING_DIR"].startswith("s3://")


def test_storage_is_an_external_postgresql_with_an_existing_password_secret():
    values = helm_values()
    postgresql = values["postgresql"]
    assert postgresql["enabled"] is False
    assert postgresql["postgresqlHost"] and postgresql["postgresqlDatabase"] and postgresql["postgresqlUsername"]
    assert "postgresqlPassword" not in postgresql
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]


def test_the_run_queue_has_the_limits_of_dagster_yaml():
    values = helm_values()
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    instance = yaml.safe_load((REPO / "dagster.yaml").read_text())["concurrency"]
    concurrency = values["concurrency"]
    assert coordinator["enabled"] and coordinator["type"] == "QueuedRunCoordinator"
    # the chart refuses limits both here and in the run coordinator's config
    assert "config" not in coordinator
    assert concurrency["enabled"] is True
    assert concurrency["pools"] == {"granularity": instance["pools"]["granularity"], "defaultLimit": instance["pools"]["default_limit"]}
    assert concurrency["runs"]["maxConcurrentRuns"] == instance["runs"]["max_concurrent_runs"]
    assert concurrency["runs"]["tagConcurrencyLimits"] == instance["runs"]["tag_concurrency_limits"]


def test_run_monitoring_is_on_and_telemetry_off_as_in_dagster_yaml():
    values = helm_values()
    instance = yaml.safe_load((REPO / "dagster.yaml").read_text())
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert monitoring["enabled"] is instance["run_monitoring"]["enabled"] is True
    assert monitoring["startTimeoutSeconds"] == instance["run_monitoring"]["start_timeout_seconds"]
    assert values["telemetry"]["enabled"] is instance["telemetry"]["enabled"] is False
