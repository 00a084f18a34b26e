"""A run killed with SIGKILL at any step of taking a file into the archive: the next run ends with each row once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import PartitionsConfig
from etl_assets.ingest.archive import archived_files
from etl_assets.ingest.upload import ingest_window
from etl_assets.ingest.windows import window_from_key
from etl_assets.paths import ProjectPaths

from .helpers import dataset, land

pytestmark = pytest.mark.slow

DAY = window_from_key("2026-11-20", PartitionsConfig())
MORNING = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONTENT = "id,value\n1,a\n2,b\n3,c\n"

# The child runs the real ingest and SIGKILLs itself right before or after one step of the archive.
KILLED_INGEST = """
import functools, json, os, signal, sys
from pathlib import Path
from etl_assets.config.models import DatasetConfig
from etl_assets.ingest import archive
from etl_assets.ingest.upload import ingest_window
from etl_assets.ingest.windows import window_from_key
from etl_assets.paths import ProjectPaths

home, config, when, step = sys.argv[1:]
original = getattr(archive, step)

@functools.wraps(original)
def killed(*args, **kwargs):
    if when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    return result

setattr(archive, step, killed)
orders = DatasetConfig.model_validate(json.loads(config))
ingest_window(orders, ProjectPaths(Path(home)), window_from_key("2026-11-20", orders.partitions))
"""

NEW_FILE_STEPS = [("after", "_copy_then_hash"), ("before", "_write_record"), ("after", "_write_record"), ("before", "_take_out_of_landing")]
DUPLICATE_STEPS = [("before", "_write_record"), ("after", "_write_record"), ("before", "_take_out_of_landing")]


def _killed_ingest(paths: ProjectPaths, landing, when: str, step: str) -> None:
    config = json.dumps(dataset(landing).model_dump(mode="json", by_alias=True))
    child = subprocess.run([sys.executable, "-c", KILLED_INGEST, str(paths.home), config, when, step], capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr


def _window_files(paths: ProjectPaths) -> list[str]:
    folder = paths.archive / "orders" / "2026-11-20"
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize(("when", "step"), NEW_FILE_STEPS)
def test_a_killed_archive_of_a_new_file_is_completed_by_the_next_run(tmp_path, when, step):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "f.csv", CONTENT, MORNING)

    _killed_ingest(paths, landing, when, step)
    assert (landing / "f.csv").read_text() == CONTENT, "the landed file outlives the killed run"
    rerun = ingest_window(dataset(landing), paths, DAY)

    assert pq.read_table(rerun.output_path).column("id").to_pylist() == ["1", "2", "3"]
    assert list(landing.iterdir()) == []
    [kept] = archived_files(paths.archive / "orders", DAY.key)
    assert (kept.original_name, kept.arrived_at, kept.path.read_text()) == ("f.csv", MORNING, CONTENT)
    assert [name for name in _window_files(paths) if not name.startswith("duplicates/")] == [kept.path.name, f"{kept.sha256}.meta.json"]


@pytest.mark.parametrize(("when", "step"), DUPLICATE_STEPS)
def test_a_killed_archive_of_a_duplicate_is_completed_by_the_next_run(tmp_path, when, step):
    paths = ProjectPaths(tmp_path / "home")
    landing = paths.landing / "orders"
    land(landing, "f.csv", CONTENT, MORNING)
    first = ingest_window(dataset(landing), paths, DAY)
    land(landing, "f copy.csv", CONTENT, NOON)

    _killed_ingest(paths, landing, when, step)
    rerun = ingest_window(dataset(landing), paths, DAY)

    assert pq.read_table(rerun.output_path).equals(pq.read_table(first.output_path))
    assert list(landing.iterdir()) == []
    assert [file.original_name for file in archived_files(paths.archive / "orders", DAY.key)] == ["f.csv"]
    arrivals = [name for name in _window_files(paths) if name.startswith("arrivals/")]
    assert len(arrivals) == 1, "the later arrival is recorded once"
    assert not [name for name in _window_files(paths) if name.startswith(".")], "no half-made copy is left behind"
