"""`dagster dev` (webserver and daemon) as a real process group on a free loopback port, in a temporary ETL_ASSETS_HOME."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import snowflake.connector
from dagster_graphql import DagsterGraphQLClient

from etl_assets.config.columns import WINDOW_START
from etl_assets.sql_text import qualified_name, quote_identifier
from etl_assets.warehouse.emulator import LocalEmulator
from etl_assets_tests.cli.conftest import BIN, REPO

CODE_LOCATION = "etl_assets"
REPOSITORY = "__repository__"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}

LOCATION_STATUS = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
SENSORS = """{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
  ... on RepositoryLocation { repositories { sensors { name id } } } } } } } }"""
STOP_SENSOR = "mutation($id: String) { stopSensor(id: $id) { __typename } }"
START_SENSOR = "mutation($sensor: SensorSelector!) { startSensor(sensorSelector: $sensor) { __typename } }"
LAUNCH_BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId launchedRunIds } ... on PythonError { message } } }"""
BACKFILL_STATUS = "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"
BACKFILL_RUNNING = {"REQUESTED", "CANCELING", "FAILING"}
LAST_TICK = """query($sensor: SensorSelector!) { sensorOrError(sensorSelector: $sensor) {
  ... on Sensor { minIntervalSeconds sensorState { ticks(limit: 1) { timestamp } } } } }"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process_group(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM the group led by `process` (started with start_new_session), SIGKILL what is left after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_is_alive(process.pid):
            process.poll()  # reap the leader, so its zombie does not keep the group alive
            time.sleep(0.2)
        if not group_is_alive(process.pid):
            break
    process.wait(timeout=5)


def group_is_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class DagsterDev:
    home: Path
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    def client(self) -> DagsterGraphQLClient:
        return DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=60)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """POST one query to the webserver; GraphQL errors fail the test with the server's message."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]

    def stop_sensors(self) -> None:
        """The upload sensors start RUNNING; a test that counts runs launches its own."""
        entries = self.graphql(SENSORS)["workspaceOrError"]["locationEntries"]
        for sensor in (s for e in entries for r in e["locationOrLoadError"]["repositories"] for s in r["sensors"]):
            assert self.graphql(STOP_SENSOR, {"id": sensor["id"]})["stopSensor"]["__typename"] == "StopSensorMutationResult"

    def start_sensor(self, name: str) -> None:
        assert self.graphql(START_SENSOR, {"sensor": self._sensor(name)})["startSensor"]["__typename"] == "Sensor"

    def wait_until_sensor_may_tick(self, name: str) -> None:
        """A sensor ticks at most once per minimum interval: wait out the one its last tick (at start-up) began."""
        sensor = self.graphql(LAST_TICK, {"sensor": self._sensor(name)})["sensorOrError"]
        ticks = sensor["sensorState"]["ticks"]
        if ticks:
            time.sleep(max(0.0, ticks[0]["timestamp"] + sensor["minIntervalSeconds"] - time.time()))

    @staticmethod
    def _sensor(name: str) -> dict:
        return {"repositoryLocationName": CODE_LOCATION, "repositoryName": REPOSITORY, "sensorName": name}

    def launch_backfill(self, params: dict) -> dict:
        """launchPartitionBackfill, as the UI's backfill dialog sends it; returns its backfillId (and launchedRunIds)."""
        launched = self.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        return launched

    def wait_for_backfill(self, backfill_id: str, timeout: float = 180) -> str:
        """The daemon picks a backfill up every 30 s; wait until it has finished it."""
        deadline = time.monotonic() + timeout
        while (status := self.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]["status"]) in BACKFILL_RUNNING:
            assert time.monotonic() < deadline, f"backfill {backfill_id} still {status} after {timeout:g} s; see {self.log}"
            time.sleep(1)
        return status

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.dagster_home))

    def wait_for_run(self, run_id: str, timeout: float = 240) -> str:
        client = self.client()
        deadline = time.monotonic() + timeout
        while (status := client.get_run_status(run_id).value) not in FINISHED:
            assert time.monotonic() < deadline, f"run {run_id} still {status} after {timeout:g} s; see {self.log}"
            time.sleep(1)
        return status


def rows_by_window(home: Path, table: tuple[str, ...] = ("ANALYTICS", "RAW", "ORDERS")) -> dict[str, int]:
    """Rows per window start day in the emulator under `home` (the one that home's runs loaded)."""
    start = quote_identifier(WINDOW_START)
    connection = snowflake.connector.connect(**LocalEmulator(home / "warehouse").connection_args())
    try:
        cursor = connection.cursor()
        cursor.execute(f"SELECT {start}, COUNT(*) FROM {qualified_name(*table)} GROUP BY 1 ORDER BY 1")
        return {start.date().isoformat(): count for start, count in cursor.fetchall()}
    finally:
        connection.close()


def land_sample(home: Path, dataset: str, sample: str, day: dt.date) -> Path:
    """Copy sample_data/<dataset>/<sample> into the dataset's landing folder, arrived at noon UTC on `day`."""
    landing = home / "landing" / dataset
    landing.mkdir(parents=True, exist_ok=True)
    target = landing / f"{day.isoformat()}_{sample}"
    shutil.copyfile(REPO / "sample_data" / dataset / sample, target)
    arrived = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC).timestamp()
    os.utime(target, (arrived, arrived))
    return target


def project_env(home: Path, config: Path = REPO / "etl_config.yaml") -> dict[str, str]:
    """This shell's environment without its ETL_/DAGSTER_ settings, pointed at `home` and `config`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "DAGSTER_"))}
    env.update(ETL_ASSETS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"), ETL_ASSETS_CONFIG=str(config))
    return env


@contextmanager
def dagster_dev(home: Path, timeout: float = 180, through_dg: bool = False, config: Path = REPO / "etl_config.yaml") -> Iterator[DagsterDev]:
    """Start `dagster dev -w workspace.yaml` (or `dg dev`, which finds the project by pyproject.toml's [tool.dg]) with
    the repository's dagster.yaml; stop its whole process group and the emulator its runs started, whatever happens."""
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster" / "dagster.yaml")
    port, log = free_port(), home / "dagster-dev.log"
    if through_dg:
        command = [str(BIN / "dg"), "dev", "--host", "127.0.0.1", "--port", str(port)]
    else:
        command = [str(BIN / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env=project_env(home, config), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = DagsterDev(home=home, port=port, process=process, log=log)
    try:
        _wait_until_loaded(server, timeout)
        yield server
    finally:
        stop_process_group(process)
        LocalEmulator(home / "warehouse").stop()


def _wait_until_loaded(server: DagsterDev, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert server.process.poll() is None, f"dagster dev exited with {server.process.returncode}: {server.log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"dagster dev did not load {CODE_LOCATION} in {timeout:g} s: {server.log.read_text()[-3000:]}"
        try:
            entries = server.graphql(LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
        except OSError:
            entries = []
        if any(e["name"] == CODE_LOCATION and e["loadStatus"] == "LOADED" for e in entries):
            return
        time.sleep(0.5)
