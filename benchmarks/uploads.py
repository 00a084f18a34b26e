"""Uploads: the same rows as a plain CSV and compressed, through the upload stage alone."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from benchmarks.data import OrdersData
from benchmarks.measure import alternate, median_of, result_line
from benchmarks.model import Section, Target
from benchmarks.report import mib, ratio, seconds
from benchmarks.runs import ours_script, reset

# A compressed upload is to be read in the memory of the plain one, give or take this share.
FLAT_MEMORY_SLACK = 1.10
COMPRESSORS = {
    # level 1: the compression is preparation, outside the timing, and the reader's work barely depends on the level
    "gzip": (".gz", lambda path, target: _stream_through(gzip.open(target, "wb", compresslevel=1), path)),
}
# zstd and bz2 go through the same streaming reader (ingest/compression.py; tested at every size the tests run), so
# one compressed contender shows whether decompressing keeps the memory flat. Each would add three runs on a 1 GB
# file to the suite's 20 minutes: zstd about 45 s, bz2 (which decompresses at a sixth of gzip's speed) about 5 min.


def uploads(scratch: Path, data: OrdersData, rows: int, runs: int, timeout: float) -> Section:
    """ingest_window over the plain CSV against the same CSV gzip-compressed."""
    section = Section(f"Uploads: {rows:,} rows as CSV, plain and compressed, through the upload stage",
                      ["file", "size MiB", "median s", "peak MiB", "peak ÷ plain's"])  # fmt: skip
    plain = data.csv(rows)
    files = {"plain": plain}
    compressed = reset(scratch / "data")
    for name, (suffix, compress) in COMPRESSORS.items():
        files[name] = compressed / f"{plain.name}{suffix}"
        compress(plain, files[name])
    contenders = {name: (lambda path=path, name=name: ours_script("ours_upload.py", path, reset(scratch / name), timeout=timeout)) for name, path in files.items()}
    results = alternate(contenders, runs)
    plain_peak = median_of(results["plain"], "peak_mib")
    for name, measured in results.items():
        assert int(result_line(measured[0].output, "ROWS")[0]) == rows, f"{name} read {result_line(measured[0].output, 'ROWS')} rows"
        section.rows.append([name, f"{files[name].stat().st_size / 2**20:,.1f}", seconds(median_of(measured, "seconds")),
                             mib(median_of(measured, "peak_mib")), ratio(median_of(measured, "peak_mib") / plain_peak)])  # fmt: skip
    worst = max(median_of(measured, "peak_mib") for name, measured in results.items() if name != "plain") / plain_peak
    section.targets.append(Target(f"a compressed upload's peak RSS ≤ {FLAT_MEMORY_SLACK:g}× the plain one's", worst <= FLAT_MEMORY_SLACK, f"{worst:.2f}×"))
    section.notes.append("Each run lands the file in a fresh home and ingests its window (archive, read, Parquet with lineage) in one process.")
    return section


def _stream_through(writer, source: Path) -> None:
    with writer, source.open("rb") as plain:
        shutil.copyfileobj(plain, writer, 1 << 20)
