"""Loads skipped for want of credentials: without a connection there is no ledger to write, so a local one holds them."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
from pathlib import Path
from typing import Any

SKIPPED_LOADS_FILE = "skipped_loads.jsonl"


def record_skipped(
    warehouse_dir: Path, *, dataset: str, table_name: str, window_key: str, run_id: str, reason: str, at: dt.datetime
) -> None:
    """Append one `skipped` ledger entry, in the ledger's own fields."""
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    entry = {
        "dataset": dataset,
        "table_name": table_name,
        "window_key": window_key,
        "run_id": run_id,
        "status": "skipped",
        "error": reason,
        "started_at": at.isoformat(),
        "finished_at": at.isoformat(),
    }
    with (warehouse_dir / SKIPPED_LOADS_FILE).open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps(entry) + "\n")


def skipped_loads(warehouse_dir: Path, dataset: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest skipped loads first, optionally of one dataset."""
    path = warehouse_dir / SKIPPED_LOADS_FILE
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [e for e in reversed(entries) if dataset in (None, e["dataset"])][:limit]
