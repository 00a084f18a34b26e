"""Ours: the upload stage alone (ingest_window) over one landed file, plain or compressed.

    python benchmarks/contenders/ours_upload.py FILE HOME

Lands FILE (a hard link) in HOME's orders landing folder, ingests its window, and prints `ROWS n`.
"""

import datetime as dt
import os
import sys
from pathlib import Path

from etl_assets.config.models import DatasetConfig
from etl_assets.ingest.upload import ingest_window
from etl_assets.ingest.windows import window_for
from etl_assets.paths import ProjectPaths

source, home = Path(sys.argv[1]), Path(sys.argv[2])
paths = ProjectPaths(home)
landing = paths.landing / "orders"
landing.mkdir(parents=True, exist_ok=True)
landed = landing / source.name
os.link(source, landed)
noon = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC).timestamp()
os.utime(landed, (noon, noon))
dataset = DatasetConfig.model_validate(
    {"name": "orders", "source": {"path": str(landing), "pattern": "*", "settle_seconds": 0}, "load": {"table": "ORDERS"}}
)
result = ingest_window(dataset, paths, window_for(dt.datetime.fromtimestamp(noon, dt.UTC), dataset.partitions))
print("ROWS", result.row_count)
