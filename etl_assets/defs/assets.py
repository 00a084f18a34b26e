"""The asset factory: one dataset's config becomes its chain of five partitioned assets."""

import dataclasses

import dagster as dg

from etl_assets import local_duckdb
from etl_assets.compliance.display import masked_profile
from etl_assets.compliance.masking import effective_masks, hold_back_unmasked, mask_windows, pending_verdict
from etl_assets.compliance.pii import may_hold_pii, pii_columns, upload_pii, window_pii
from etl_assets.config.models import DatasetConfig, ProjectConfig
from etl_assets.defs import metadata as md
from etl_assets.errors import CredentialsError
from etl_assets.defs.freshness import freshness_policy_for
from etl_assets.defs.jobs import dataset_pool
from etl_assets.defs.loading import load_check_specs, load_run, retry_policy_for
from etl_assets.defs.marts import window_partition_expr
from etl_assets.defs.partitions import partitions_def_for, windows_in_run
from etl_assets.defs.quality_checks import check_results, quality_check_specs, quality_metadata, reference_data
from etl_assets.defs.resources import LandingZones, ProjectHome, ScriptModels, SnowflakeWarehouse
from etl_assets.defs.script_runs import run_script_group, script_groups
from etl_assets.files import write_atomically
from etl_assets.ingest.upload import ingest_window
from etl_assets.ingest.windows import TimeWindow, window_before
from etl_assets.lake import QualityVerdict, stage_paths
from etl_assets.paths import ProjectPaths
from etl_assets.profiling.drift import compare_profiles
from etl_assets.profiling.model import Drift, Profile
from etl_assets.profiling.profiler import profile_parquet, read_profile, write_profile
from etl_assets.profiling.report import render_report
from etl_assets.range_threads import in_order, parquet_rows
from etl_assets.quality.verdict import judge_windows
from etl_assets.scriptgen.generate import WindowSample, generate_script, uses_llm


def asset_keys_for(dataset: DatasetConfig) -> dict[str, dg.AssetKey]:
    """The five asset keys of a dataset's chain (docs/architecture.md §1)."""
    return {
        "upload": dg.AssetKey(["uploads", dataset.name]),
        "profile": dg.AssetKey(["profiles", dataset.name]),
        "script": dg.AssetKey(["scripts", dataset.name]),
        "transform": dg.AssetKey(["transformed", dataset.name]),
        "load": dg.AssetKey(dataset.asset_table_path),
    }


DRIFT_CHECK = "profile_drift"
REJECTS_CHECK = "rejected_rows"


def previous_profile(paths: ProjectPaths, dataset: DatasetConfig, window: TimeWindow, this_run: dict[str, Profile]) -> Profile | None:
    """The profile of the window before, from this run or from disk; None when there is none."""
    previous_key = window_before(window, dataset.partitions).key
    if previous_key in this_run:
        return this_run[previous_key]
    path = stage_paths(paths, dataset.name, previous_key).profile
    return read_profile(path) if path.exists() else None


def build_dataset_assets(dataset: DatasetConfig, config: ProjectConfig) -> list[dg.AssetsDefinition]:
    """uploads -> profiles -> scripts -> transformed -> snowflake, each window idempotent."""
    keys = asset_keys_for(dataset)
    common = {
        "group_name": dataset.name,
        "partitions_def": partitions_def_for(dataset.partitions),
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "pool": dataset_pool(dataset),
    }
    target = dataset.target_name

    @dg.asset(
        key=keys["upload"],
        kinds={"parquet"},
        description=f"Files uploaded for {dataset.name}, normalised to Parquet with lineage.",
        check_specs=[dg.AssetCheckSpec(REJECTS_CHECK, asset=keys["upload"], description="Warns when rows of the uploaded files, or whole files, could not be read.")],
        **common,
    )
    def upload(context: dg.AssetExecutionContext, project: ProjectHome, landing_zones: LandingZones) -> dg.MaterializeResult:
        """Archive the window's new files and write all its files as one Parquet with lineage columns."""
        zone = landing_zones.zone_for(dataset)
        results = [ingest_window(dataset, project.paths, window, zone=zone) for window in windows_in_run(context)]
        for line in md.upload_log_lines(dataset.name, results):
            context.log.info(line)
        # the upload is shown before its profile exists: its PII columns are found in its first rows
        md.record_per_window(context, {r.window_key: md.upload_metadata(r, upload_pii(dataset, r.output_path).by_source) for r in results})
        return dg.MaterializeResult(check_results=[md.rejected_rows_result(REJECTS_CHECK, results, hide_text=may_hold_pii(dataset))])

    @dg.asset(
        key=keys["profile"],
        deps=[keys["upload"]],
        kinds={"python", "html"},
        description=f"Column profile of {dataset.name}'s uploads, with an HTML report and drift from the previous window.",
        check_specs=[dg.AssetCheckSpec(DRIFT_CHECK, asset=keys["profile"], description="Warns when a window's profile drifts from the previous window's.")],
        **common,
    )
    def profile(context: dg.AssetExecutionContext, project: ProjectHome) -> dg.MaterializeResult:
        """Types, semantics, distributions and candidates per window, compared with the window before."""
        profiles: dict[str, Profile] = {}
        drifts: dict[str, Drift] = {}
        metadata: dict[str, dict] = {}
        # one DuckDB database for the run: a range's windows pay its start-up once
        with local_duckdb.connect() as database:
            windows = windows_in_run(context)
            stages = [stage_paths(project.paths, dataset.name, window.key) for window in windows]
            scanned = in_order(lambda paths: profile_parquet(paths.upload, database), stages, lambda paths: parquet_rows(paths.upload))
            for window, paths, window_profile in zip(windows, stages, scanned):
                profiles[window.key] = window_profile
                write_profile(profiles[window.key], paths.profile)
                previous = previous_profile(project.paths, dataset, window, profiles)
                drifts[window.key] = compare_profiles(previous, profiles[window.key]) if previous else None
                # what is shown of it: no value of a PII column (docs/architecture.md §8)
                pii = pii_columns(dataset, window_profile).by_source
                shown = masked_profile(window_profile, pii)
                html = render_report(shown, dataset=dataset.name, window_key=window.key, drift=drifts[window.key])
                write_atomically(paths.report, html)
                metadata[window.key] = md.profile_metadata(window.key, shown, paths.report, drifts[window.key], pii)
        md.record_per_window(context, metadata)
        return dg.MaterializeResult(check_results=[md.drift_result(DRIFT_CHECK, drifts)])

    @dg.asset(key=keys["script"], deps=[keys["profile"]], kinds={"python"}, description=f"Generated ETL script for {dataset.name}, versioned by content hash.", **common)
    def script(context: dg.AssetExecutionContext, project: ProjectHome, script_models: ScriptModels) -> dg.MaterializeResult:
        """Generate (or reuse) the script for each window's source schema."""
        profiles = {window.key: read_profile(stage_paths(project.paths, dataset.name, window.key).profile) for window in windows_in_run(context)}

        def sample_of(key: str) -> WindowSample | None:
            """What the LLM path needs of a window with rows: its profile, its upload, and the model."""
            if not uses_llm(dataset) or profiles[key].row_count == 0:
                return None
            upload = stage_paths(project.paths, dataset.name, key).upload
            return WindowSample(profiles[key], upload, lambda: script_models.model(dataset, config.source_file.parent))

        scripts, by_schema = {}, {}
        # windows with rows first: an empty window then borrows the script of one (with the same columns if any), so a
        # range's empty windows share its script process and output types instead of an all-text script of their own
        for key in sorted(profiles, key=lambda key: profiles[key].row_count == 0):
            source_types = profiles[key].inferred_types()
            # A range's windows mostly share one schema: its script is looked up (or rendered) once per run.
            schema = tuple(source_types.items())
            borrowed = _script_with_columns(by_schema, list(source_types)) if profiles[key].row_count == 0 else None
            if schema in by_schema or borrowed is not None:
                scripts[key] = dataclasses.replace(by_schema.get(schema) or borrowed, reused=True)
            else:
                scripts[key] = by_schema[schema] = generate_script(dataset, source_types, project.paths.generated_scripts, sample_of(key))
            stage_paths(project.paths, dataset.name, key).write_script_pointer(scripts[key])
        codes = {script.path: script.path.read_text(encoding="utf-8") for script in by_schema.values()}
        md.record_per_window(context, {key: md.script_metadata(script, codes[script.path]) for key, script in scripts.items()})
        return dg.MaterializeResult()

    @dg.asset(
        key=keys["transform"],
        deps=[keys["script"]],
        kinds={"python", "parquet"},
        description=f"{dataset.name} transformed by its script in a Pipes subprocess, then checked by its quality rules.",
        check_specs=quality_check_specs(dataset, keys["transform"]),
        **common,
    )
    def transformed(
        context: dg.AssetExecutionContext,
        project: ProjectHome,
        pipes_subprocess_client: dg.PipesSubprocessClient,
        warehouse: SnowflakeWarehouse,
    ) -> dg.MaterializeResult:
        """Run each window's script on its upload (one process per script), then its quality rules on the real values
        (quarantine rows, hold back failing windows), then mask its `compliance.mask` columns in every file the load reads."""
        counts, qualities, verdicts = {}, {}, {}
        # masking (docs/architecture.md §8): the key is read before anything is written, so a missing one stops here
        masks = effective_masks(dataset.compliance.mask)
        try:
            hash_key = warehouse.vault.hash_key(dataset) if "hash" in masks.values() else None
        except CredentialsError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        references = reference_data(dataset, config, project.paths, warehouse) if dataset.quality else {}
        windows = [stage_paths(project.paths, dataset.name, window.key) for window in windows_in_run(context)]
        for paths in windows if masks else ():
            hold_back_unmasked(paths)
        for group in script_groups(windows):
            counts |= run_script_group(context, pipes_subprocess_client, dataset, group, hidden=[project.paths.home])
        counts = {paths.window_key: counts[paths.window_key] for paths in windows}
        # a window that masks is judged on its real values into a verdict kept aside until its files are masked
        judging = [pending_verdict(paths) for paths in windows] if masks else windows
        if dataset.quality:
            judged = judge_windows(dataset, judging, references)
            qualities = {key: quality for key, (quality, _) in judged.items()}
            verdicts = {key: verdict for key, (_, verdict) in judged.items()}
        else:
            for paths in judging:
                paths.write_verdict(QualityVerdict(blocked_by=(), load_path=paths.transformed))
        if masks:
            mask_windows(windows, judging, masks, hash_key)
        md.record_per_window(context, {
            paths.window_key: md.transform_metadata(counts[paths.window_key], paths.transformed, window_pii(dataset, paths.profile))
            | (quality_metadata(qualities[paths.window_key], verdicts[paths.window_key]) if qualities else {})
            for paths in windows
        })  # fmt: skip
        return dg.MaterializeResult(check_results=check_results(dataset, qualities) if qualities else [])

    @dg.asset(
        key=keys["load"],
        deps=[keys["transform"]],
        kinds={"snowflake"},
        description=f"{dataset.name} in Snowflake table {target}.",
        # How dagster-snowflake's IO managers select this table's windows for downstream assets.
        metadata={"partition_expr": window_partition_expr(dataset.partitions.timezone)},
        check_specs=load_check_specs(keys["load"]),
        retry_policy=retry_policy_for(dataset),
        freshness_policy=freshness_policy_for(dataset),
        # Only the windows really loaded are materialized (each logged on its own), so a held-back window shows.
        output_required=False,
        **common,
    )
    def load(context: dg.AssetExecutionContext, project: ProjectHome, warehouse: SnowflakeWarehouse):
        """PUT + COPY INTO a staging table, then the load strategy inside one transaction, per window."""
        yield from load_run(context, dataset, project.paths, warehouse)

    return [md.with_classification(dataset, asset) for asset in (upload, profile, script, transformed, load)]


def _script_with_columns(by_schema: dict[tuple, object], columns: list[str]):
    """A script chosen in this run for windows with exactly these source columns, else any (a window no file arrived
    for has none; its script reads them as NULL), or None."""
    same = (script for schema, script in by_schema.items() if [name for name, _ in schema] == columns)
    return next(same, next(iter(by_schema.values()), None))
