"""Turn each stage's results into Dagster metadata: row counts, schemas and Markdown previews."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from etl_assets.compliance.display import masked_rows, masked_text
from etl_assets.compliance.pii import PiiColumn, PiiColumns
from etl_assets.config.models import DatasetConfig
from etl_assets.ingest.upload import UploadResult
from etl_assets.markdown import markdown_table
from etl_assets.lake import QualityVerdict
from etl_assets.profiling.model import Drift, Profile
from etl_assets.scriptgen.store import SavedScript, read_log
from etl_assets.warehouse.keys import KeyChoice
from etl_assets.warehouse.model import LoadResult

PREVIEW_ROWS = 10
NO_PII: Mapping[str, PiiColumn] = {}


def table_schema(schema: pa.Schema, pii: Mapping[str, PiiColumn] = NO_PII) -> dg.TableSchema:
    """The columns and their types; a PII column is tagged with what it holds and its mask (docs/architecture.md §8)."""
    return column_schema([(field.name, str(field.type)) for field in schema], pii)


def column_schema(
    columns: Sequence[tuple[str, str]], pii: Mapping[str, PiiColumn] = NO_PII, descriptions: Mapping[str, str] | None = None
) -> dg.TableSchema:
    """(name, type) columns as a TableSchema, the PII ones (by name in `pii`) tagged `pii` and `mask`."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, kind, description=(descriptions or {}).get(name), tags=pii[name].tags if name in pii else None)
            for name, kind in columns
        ]
    )


def parquet_preview(path: Path, hidden: Collection[str] = frozenset()) -> str:
    """The first rows of a Parquet file as Markdown, read without loading the whole file; the `hidden` columns'
    values are shown as `***`."""
    parquet = pq.ParquetFile(path)
    batch = next(parquet.iter_batches(batch_size=PREVIEW_ROWS), None)
    rows = batch.to_pylist() if batch is not None else []
    header = parquet.schema_arrow.names
    return markdown_table(header, masked_rows(header, [[row[name] for name in header] for row in rows], hidden))


def record_per_window(context: dg.AssetExecutionContext, metadata: Mapping[str, Mapping[str, Any]]) -> None:
    """Each window's own facts on its own materialization. Metadata a step returns is copied to every window of a
    ranged run, which would show the range's totals as each window's and write them once per window."""
    for window_key, values in metadata.items():
        context.add_asset_metadata(values, partition_key=window_key)


def upload_metadata(result: UploadResult, pii: Mapping[str, PiiColumn] = NO_PII) -> dict[str, Any]:
    """What one window's upload materialization says: its rows, files and how each file was read; `pii`, by upload
    column, is tagged and kept out of the preview."""
    renamed = [f"{header} -> {name}" for read in result.file_reads for name, header in read.renamed.items()]
    return {
        "dagster/row_count": result.row_count,
        "dagster/column_schema": table_schema(pq.read_schema(result.output_path), pii),
        "files": len(result.files),
        "new_files": result.new_files,
        "duplicate_files": result.duplicate_files,
        "settling_files": result.settling_files,
        "file_reads": md_value(file_reads_markdown([result])),
        "rejected_rows": result.reject_count,
        "short_rows_padded": sum(read.short_rows for read in result.file_reads),
        "renamed_columns": ", ".join(dict.fromkeys(renamed)) or "(none)",
        "failed_files": md_value(failed_files_markdown(result)) if result.failed_files else "(none)",
        "path": dg.MetadataValue.path(str(result.output_path)),
        "preview": md_value(parquet_preview(result.output_path, pii)),
    }


def failed_files_markdown(result: UploadResult) -> str:
    """The files this window's run set aside as unreadable: where each is now, and why."""
    rows = [[file.name, file.location, file.reason.splitlines()[0]] for file in result.failed_files]
    return markdown_table(["file", "set aside in", "reason"], rows)


def upload_log_lines(dataset: str, results: Sequence[UploadResult]) -> list[str]:
    """What the upload step logs: a window with rejects, duplicates or files still being written on its own line,
    the other windows of a range in one line (each line costs the run's event log a write)."""

    def line(r: UploadResult) -> str:
        return (
            f"{dataset} {r.window_key}: {r.row_count} rows from {len(r.files)} files ({r.new_files} new, "
            f"{r.duplicate_files} duplicate), {r.reject_count} rejected; {r.settling_files} still being written, "
            f"left in landing for a later run"
        )

    notable = [r.reject_count or r.duplicate_files or r.settling_files for r in results]
    plain = [r for r, said in zip(results, notable, strict=True) if not said]
    lines = [line(r) for r, said in zip(results, notable, strict=True) if said or len(plain) == 1]
    lines += [f"{dataset} {r.window_key}: set aside {file.name!r} in {file.location}: {file.reason}" for r in results for file in r.failed_files]
    if len(plain) > 1:
        lines.append(
            f"{dataset} {len(plain)} windows, {plain[0].window_key} to {plain[-1].window_key}: "
            f"{sum(r.row_count for r in plain)} rows from {sum(len(r.files) for r in plain)} files "
            f"({sum(r.new_files for r in plain)} new); none rejected, duplicate or still being written"
        )
    return lines


def file_reads_markdown(results: Sequence[UploadResult]) -> str:
    """One row per file read: its rows, rejects, encoding, short rows padded with NULLs and renamed headers."""
    header = ["window", "file", "rows", "rejected", "encoding", "short rows padded", "renamed columns"]
    rows = [
        (r.window_key, read.name, read.rows, read.rejects, read.encoding or "(binary)", read.short_rows,
         ", ".join(f"{old} -> {new}" for new, old in read.renamed.items()) or "")
        for r in results
        for read in r.file_reads
    ]
    return markdown_table(header, rows)


def rejected_rows_result(check_name: str, results: Sequence[UploadResult], hide_text: bool = False) -> dg.AssetCheckResult:
    """Rejected rows, and files set aside as unreadable, are a WARN that fails, with the count per file and a few
    example lines, never only a log line; `hide_text` (a dataset that may hold PII) shows their length only."""
    rejected = sum(r.reject_count for r in results)
    failed = [(r.window_key, file.name, file.location, file.reason.splitlines()[0]) for r in results for file in r.failed_files]
    per_file = [(r.window_key, read.name, read.rejects, read.rows) for r in results for read in r.file_reads if read.rejects]
    examples = [
        (r.window_key, name, reject.line, reject.reason, masked_text(reject.raw) if hide_text else reject.raw[:200])
        for r in results
        for name, reject in r.reject_examples
    ]
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=rejected == 0 and not failed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rejected_rows": rejected,
            "failed_files": md_value(markdown_table(["window", "file", "set aside in", "reason"], failed)) if failed else "(none)",
            "files": md_value(markdown_table(["window", "file", "rejected", "rows loaded"], per_file)),
            "examples": md_value(markdown_table(["window", "file", "line", "reason", "text"], examples)),
            "rejects": ", ".join(str(r.rejects_path) for r in results if r.rejects_path) or "(none)",
        },
    )


def profile_metadata(
    window_key: str, profile: Profile, report: Path, drift: Drift | None, pii: Mapping[str, PiiColumn] = NO_PII
) -> dict[str, Any]:
    """What one window's profile materialization says: its column types and semantics, candidates and drift. The
    profile is the one shown (compliance.display.masked_profile); `pii`, by upload column, is tagged."""
    descriptions = {c.name: f"{c.semantic_type or 'no semantic type'}; stored as {c.physical_type}" for c in profile.columns}
    return {
        "dagster/row_count": profile.row_count,
        "dagster/column_schema": column_schema([(c.name, c.inferred_type) for c in profile.columns], pii, descriptions),
        "profile": md_value(f"Window {window_key}, {profile.row_count} rows, {profile.duplicate_rows} duplicate rows\n\n{profile.to_markdown()}"),
        "key_candidates": ", ".join("+".join(columns) for columns in profile.key_candidates) or "(none)",
        "date_candidates": ", ".join(f"{c.column} ({c.format})" for c in profile.date_candidates) or "(none)",
        "report": dg.MetadataValue.path(str(report)),
        "drift": md_value(drift_markdown({window_key: drift})),
    }


def drift_markdown(drifts: Mapping[str, Drift | None]) -> str:
    drifting = {key: drift for key, drift in drifts.items() if drift is not None and drift.has_drift}
    return "\n\n".join(f"**{key}**\n\n{drift.to_markdown()}" for key, drift in drifting.items()) or "No drift from the previous windows."


def drift_result(check_name: str, drifts: Mapping[str, Drift | None]) -> dg.AssetCheckResult:
    """Drift is worth a look, never a stop: a WARN check listing each window's findings."""
    drifting = {key: drift for key, drift in drifts.items() if drift is not None and drift.has_drift}
    text = drift_markdown(drifts)
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=not drifting,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"drifting_windows": ", ".join(drifting) or "(none)", "findings": md_value(text)},
    )


def script_metadata(script: SavedScript, code: str) -> dict[str, Any]:
    """What one window's script materialization says: which script runs it, how it came to be, and its code."""
    generator = script.generator
    if script.fallback_reason:
        generator += f" (fallback: {script.fallback_reason})"
    elif script.model:
        generator += f" ({script.model})"
    metadata: dict[str, Any] = {
        "content_hash": script.content_hash,
        "inputs_hash": script.inputs_hash,
        "generator": generator,
        "reused": script.reused,
        "path": dg.MetadataValue.path(str(script.path)),
        "log": dg.MetadataValue.path(str(script.path.with_suffix(".json"))),
        "code": md_value(f"```python\n{code}\n```"),
    }
    if script.fallback_reason:
        metadata["fallback_reason"] = script.fallback_reason
    if script.pinned:
        metadata["pinned"] = True  # edited by hand: kept until the inputs change
    log = read_log(script)
    nodes = log.get("nodes") or []
    if nodes:
        checks = [entry for entry in nodes if entry["node"] in ("validate", "dry_run")]
        metadata["checks"] = md_value("\n".join(f"- {entry['node']}: {entry['outcome']}" for entry in checks) or "none")
        metadata["repairs"] = sum(entry["node"] == "repair" for entry in nodes)
    previous = script.path.parent / f"{log.get('previous')}.py"
    if not script.reused and log.get("previous") and previous.is_file() and previous != script.path:
        metadata["diff"] = md_value(f"```diff\n{script_diff(previous, script.path.name, code)}\n```")
    return metadata


def script_diff(previous: Path, name: str, code: str, max_lines: int = 400) -> str:
    """The unified diff from the dataset's previous script to this one, cut at `max_lines`."""
    lines = list(difflib.unified_diff(previous.read_text(encoding="utf-8").splitlines(), code.splitlines(), previous.name, name, lineterm="", n=2))
    return "\n".join(lines[:max_lines] + ([f"... {len(lines) - max_lines} more lines"] if len(lines) > max_lines else []))


def transform_metadata(counts: Mapping[str, int], output: Path, pii: PiiColumns | None = None) -> dict[str, Any]:
    """What one window's transform materialization says: rows in and out, and the output's schema and first rows;
    its PII columns are tagged and kept out of the preview."""
    by_target = pii.by_target if pii is not None else NO_PII
    return {
        "dagster/row_count": counts["rows_out"],
        "dagster/column_schema": table_schema(pq.read_schema(output), by_target),
        "rows_in": counts.get("rows_in", 0),
        "rows_deduplicated": counts.get("rows_deduplicated", 0),
        "preview": md_value(parquet_preview(output, by_target)),
    }


def window_load_metadata(result: LoadResult, choice: KeyChoice, verdict: QualityVerdict, target: str) -> dict[str, Any]:
    """What one window's materialization of the table says."""
    metadata: dict[str, Any] = {
        "dagster/row_count": result.rows_in_window,
        "dagster/table_name": target,
        "strategy": choice.strategy,
        "keys": ", ".join(choice.keys) or "(none)",
        "keys_reason": choice.reason,
        "rows_inserted": result.rows_inserted,
        "rows_updated": result.rows_updated,
        "rows_deleted": result.rows_deleted,
        "rows_kept_newer_elsewhere": result.rows_superseded,
        "rows_quarantined": verdict.quarantined_rows,
        "quality_score": verdict.score,
    }
    if result.skipped:
        metadata["not_loaded"] = result.skipped
    return metadata


def md_value(text: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(text)


def with_classification(dataset: DatasetConfig, asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """The asset with the dataset's `compliance.classification` (when set) as definition metadata."""
    classification = dataset.compliance.classification
    if classification is None:
        return asset
    return asset.map_asset_specs(lambda spec: spec.merge_attributes(metadata={"classification": classification}))
