"""Uploads: the same rows as a plain CSV and compressed, through the upload stage alone."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import zstandard

from benchmarks.data import write_orders_csv
from benchmarks.measure import alternate, median_of, result_line
from benchmarks.model import Section, Target
from benchmarks.report import mib, ratio, seconds
from benchmarks.runs import ours_script, reset

# A compressed upload is to be read in the memory of the plain one, give or take this share.
FLAT_MEMORY_SLACK = 1.10
COMPRESSORS = {
    # level 1: the compression is preparation, outside the timing, and the reader's work barely depends on the level
    "gzip": (".gz", lambda path, target: _stream_through(gzip.open(target, "wb", compresslevel=1), path)),
    "zstd": (".zst", lambda path, target: _stream_through(zstandard.ZstdCompressor(level=3).stream_writer(target.open("wb")), path)),
}
# bz2 is read the same way (tested), but decompresses at a sixth of gzip's speed: 95 s for this file, left out of the suite


def uploads(scratch: Path, rows: int, runs: int, timeout: float) -> Section:
    """ingest_window over the plain CSV against the same CSV gzip- and zstd-compressed."""
    section = Section(f"Uploads: {rows:,} rows as CSV, plain and compressed, through the upload stage",
                      ["file", "size MiB", "median s", "peak MiB", "peak ÷ plain's"])  # fmt: skip
    data = reset(scratch / "data")
    plain = write_orders_csv(data / "orders.csv", rows)
    files = {"plain": plain}
    for name, (suffix, compress) in COMPRESSORS.items():
        files[name] = data / f"orders.csv{suffix}"
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
