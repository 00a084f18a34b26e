"""A generated script's dry run: at most 1,000 rows of the window, in the sandbox, then its output checked against
the columns and types it must give (docs/architecture.md §7)."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.column_types import logical_type, normalised_type
from etl_assets.config.columns import LINEAGE_COLUMNS
from etl_assets.config.models import SandboxConfig, TransformConfig
from etl_assets.scriptgen.sandbox import run_sandboxed

DRY_RUN_ROWS = 1_000
# a dry run of a thousand rows that takes longer than this is stuck, whatever the window's own limit
DRY_RUN_MAX_SECONDS = 120.0
ERROR_TAIL_CHARS = 2_000


@dataclasses.dataclass(frozen=True)
class DryRun:
    """What the dry run found: `problem` is None when the script gave the expected columns and types."""

    rows_in: int
    rows_out: int | None = None
    problem: str | None = None

    @property
    def passed(self) -> bool:
        return self.problem is None


def expected_columns(transform: TransformConfig | None, source_types: dict[str, str]) -> dict[str, str]:
    """The target columns and their logical types: the spec's, or without one the source's as profiled."""
    if transform is not None and transform.columns:
        return {name: normalised_type(spec.type) for name, spec in transform.columns.items()}
    return {name: kind for name, kind in source_types.items() if not name.startswith("_")}


def dry_run(code: str, upload: Path, expected: dict[str, str], limits: SandboxConfig, hidden: Sequence[Path] = ()) -> DryRun:
    """Run the script `code` on the first DRY_RUN_ROWS rows of `upload` in the sandbox and check what it wrote;
    the script, its sample and its output live in a temp folder, removed afterwards; the `hidden` folders (the
    project's home) look empty to it."""
    with tempfile.TemporaryDirectory(prefix="etl-dry-run-") as folder:
        script = Path(folder) / "script.py"
        script.write_text(code, encoding="utf-8")
        sample = Path(folder) / "input" / "sample.parquet"
        output = Path(folder) / "output" / "out.parquet"
        sample.parent.mkdir()
        output.parent.mkdir()
        rows_in = _write_sample(upload, sample)
        capped = limits.model_copy(update={"timeout_seconds": min(limits.timeout_seconds, DRY_RUN_MAX_SECONDS)})
        result = run_sandboxed(script, ["--input", str(sample), "--output", str(output)], capped, label="dry run of the", hidden=[str(folder) for folder in hidden])
        if result.killed_by:
            return DryRun(rows_in, problem=result.message)
        if result.returncode != 0:
            return DryRun(rows_in, problem=_failure(result.returncode, result.stderr or ""))
        if not output.is_file():
            return DryRun(rows_in, problem="The script finished without writing its --output file.")
        try:
            schema = pq.read_schema(output)
            rows_out = pq.ParquetFile(output).metadata.num_rows
        except (OSError, pa.ArrowException) as exc:
            return DryRun(rows_in, problem=f"The script's output is not a Parquet file ({exc}).")
        return DryRun(rows_in, rows_out, _schema_problem(schema, expected) or _counts_problem(result.stdout, rows_in, rows_out))


def _failure(returncode: int, stderr: str) -> str:
    """The error's last line first (what a fallback reason shows), then the traceback's tail for the repair."""
    lines = [line for line in stderr.strip().splitlines() if "DagsterPipesWarning" not in line and line.strip() != "warnings.warn("]
    last = lines[-1].strip() if lines else "no error output"
    tail = "\n".join(lines)[-ERROR_TAIL_CHARS:]
    return f"The script failed with exit code {returncode}: {last}\n{tail}"


def _write_sample(upload: Path, sample: Path) -> int:
    """The upload's first rows, streamed: only one batch of it is ever read."""
    with pq.ParquetFile(upload) as parquet:
        batch = next(parquet.iter_batches(batch_size=DRY_RUN_ROWS), None)
        table = pa.Table.from_batches([batch]) if batch is not None else parquet.schema_arrow.empty_table()
    pq.write_table(table, sample)
    return table.num_rows


def _schema_problem(schema: pa.Schema, expected: dict[str, str]) -> str | None:
    """What is missing or mistyped in the output, one line per column; None when it is all there."""
    problems = []
    for name, kind in expected.items():
        if name not in schema.names:
            problems.append(f"the output lacks the target column {name!r} ({kind})")
        elif (found := logical_type(schema.field(name).type)) != kind:
            problems.append(f"the output column {name!r} is {found or schema.field(name).type}, not {kind}")
    problems += [f"the output lacks the lineage column {name!r}; keep it unchanged" for name in LINEAGE_COLUMNS if name not in schema.names]
    return "\n".join(problems) or None


def _counts_problem(stdout: str, rows_in: int, rows_out: int) -> str | None:
    """The script must report its counts, as the harness prints them, and they must be the file's."""
    reports = []
    for line in (stdout or "").splitlines():
        try:
            loaded = json.loads(line)
        except ValueError:
            continue
        if isinstance(loaded, dict) and "rows_out" in loaded:
            reports.append(loaded)
    if not reports:
        return "The script did not report its row counts (a JSON line with rows_in and rows_out, as the harness does)."
    if reports[-1].get("rows_in") != rows_in or reports[-1].get("rows_out") != rows_out:
        return f"The script reported {reports[-1]} but read {rows_in} rows and wrote {rows_out}."
    return None
