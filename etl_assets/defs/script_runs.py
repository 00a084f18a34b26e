"""The transform's script runs: a run's windows grouped by script, one sandboxed Pipes process per group.

One process per script instead of one per window is what lets a range pay once (docs/architecture.md §7).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
from dagster_pipes import PipesDefaultMessageWriter

from etl_assets.config.models import DatasetConfig
from etl_assets.errors import ScriptError
from etl_assets.lake import StagePaths
from etl_assets.scriptgen.sandbox import SandboxProcess, SandboxResult
from etl_assets.scriptgen.store import saved_generator_version
from etl_assets.scriptgen.template import SINGLE_PAIR_VERSIONS

RowCounts = dict[str, int]


def script_groups(windows: Sequence[StagePaths]) -> list[list[StagePaths]]:
    """The windows in groups that share one script process, in run order; a single-pair script runs each alone."""
    groups: dict[str, list[StagePaths]] = {}
    versions: dict[Path, str | None] = {}
    for paths in windows:
        script = paths.read_script_pointer()
        if script not in versions:
            versions[script] = saved_generator_version(script)
        takes_many = versions[script] not in (None, *SINGLE_PAIR_VERSIONS)
        groups.setdefault(str(script) if takes_many else f"{script}#{paths.window_key}", []).append(paths)
    return list(groups.values())


def run_script_group(
    context: dg.AssetExecutionContext,
    client: dg.PipesSubprocessClient,
    dataset: DatasetConfig,
    group: Sequence[StagePaths],
    hidden: Sequence[Path] = (),
) -> dict[str, RowCounts]:
    """Run the group's script once over all its windows, in the sandbox within the dataset's limits, with the
    `hidden` folders (the project's home) showing it only its own files; each window's row counts, by window key."""
    script = group[0].read_script_pointer()
    arguments: list[str] = []
    for paths in group:
        paths.transformed.parent.mkdir(parents=True, exist_ok=True)
        window = ["--window", paths.window_key] if len(group) > 1 else []
        arguments += [*window, "--input", str(paths.upload), "--output", str(paths.transformed)]
    with dg.open_pipes_session(
        context=context,
        context_injector=client.context_injector,
        message_reader=client.message_reader,
        extras={"windows": [paths.window_key for paths in group]},
    ) as session:
        # The time and CPU limits stay per window, so a long range is not cut short by a limit meant for one window.
        with SandboxProcess(
            script, arguments, dataset.sandbox, label=dataset.name, windows=len(group),
            env_extra=session.get_bootstrap_env_vars(), writable=_messages_folder(session), capture_stdout=False,
            echo_stderr=True, logger=context.log, hidden=[str(folder) for folder in hidden],
        ) as run:  # fmt: skip
            result = _run(context, run)
    if result.killed_by:
        raise ScriptError(result.message)
    counts = counts_by_window(session.get_custom_messages(), group)
    unreported = [paths.window_key for paths in group if paths.window_key not in counts]
    if result.returncode != 0:
        failed = f"window {unreported[0]}" if unreported else "its last window"
        raise ScriptError(
            f"The {dataset.name} script failed on {failed} (exit code {result.returncode}); its error is in the step's log: "
            "fix the upload or the transform spec and rerun that window."
        )
    if unreported:
        raise ScriptError(
            f"The {dataset.name} script finished without reporting the row counts of window {unreported[0]}; "
            "regenerate the script (materialize its scripts asset) and rerun that window."
        )
    return counts


def _messages_folder(session: dg.PipesSession) -> list[str]:
    """The folder of the file the script appends its Pipes messages to: the one place besides its outputs it writes."""
    path = session.message_reader_params.get(PipesDefaultMessageWriter.FILE_PATH_KEY)
    return [os.path.dirname(path)] if isinstance(path, str) else []


def counts_by_window(messages: Sequence[object], group: Sequence[StagePaths]) -> dict[str, RowCounts]:
    """The row counts each window reported; a lone window's report may carry no window key."""
    reports = [m for m in messages if isinstance(m, dict) and "rows_out" in m]
    if len(group) == 1 and reports:
        reports = [{**reports[-1], "window": group[0].window_key}]
    return {str(r["window"]): {k: int(v) for k, v in r.items() if k != "window"} for r in reports if "window" in r}


def _run(context: dg.AssetExecutionContext, run: SandboxProcess) -> SandboxResult:
    try:
        return run.wait()
    except dg.DagsterExecutionInterruptedError:
        context.log.info("The run was interrupted: stopping the ETL script.")
        run.interrupt()
        raise
