"""Alerts for a failed run: each failed window's ledger entry and log line, and one payload for the hooks.

A hook is any callable taking the payload (a dict); the webhook POSTs it as JSON. A hook that fails is logged and
never stops the others, the log line or the ledger entry.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from etl_assets.config.alerts import AlertsConfig
from etl_assets.config.marts import import_function
from etl_assets.config.models import DatasetConfig
from etl_assets.ingest.windows import TimeWindow
from etl_assets.warehouse.ledger import UNFINISHED, Attempt, LoadLedger

ALERT_EVENT = "etl_assets.window_failed"
RUN_ALERT_EVENT = "etl_assets.run_failed"
LOGGER = logging.getLogger("etl_assets.alerts")
LONGEST_ERROR = 500
# a window the run loaded, or found nothing to load in, did not fail
NOT_FAILED = ("uploaded", "skipped")
AlertHook = Callable[[dict[str, Any]], object]


@dataclass(frozen=True)
class FailedWindow:
    """One window of a failed run, as the alert tells it; `window` is None for a run without partitions."""

    dataset: str
    table: str
    window: TimeWindow | None
    run_id: str
    job: str
    error: str
    # what the ledger holds for it: "recorded" (now), "already recorded" (by the load or an earlier alert) or "not recorded: <why>"
    ledger: str


def error_sentence(message: str) -> str:
    """The error's first line without its exception-class prefix, shortened: never a traceback."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    first = lines[0] if lines else "the run failed without an error message"
    head, separator, rest = first.partition(": ")
    if separator and rest and " " not in head:  # `package.SomeError: message`
        first = rest
    return first if len(first) <= LONGEST_ERROR else first[: LONGEST_ERROR - 3] + "..."


def record_failed_windows(
    ledger: LoadLedger, dataset: DatasetConfig, windows: Sequence[TimeWindow], run_id: str, job: str, error: str
) -> list[FailedWindow]:
    """The run's failed windows, each with a `failed` ledger row: written here unless the load already wrote one.

    A window this run loaded (or skipped) is left out; one the load marked failed or blocked keeps its own row and
    error; one the load left unfinished is ended by the window's next attempt, as any dead attempt is.
    """
    outcomes = ledger.run_outcomes(dataset.name, dataset.load.table, run_id)
    failed, missing = [], []
    for window in windows:
        status, recorded_error = outcomes.get(window.key, (None, None))
        if status in NOT_FAILED:
            continue
        if status is None:
            missing.append(window)
        elif status in UNFINISHED:
            failed.append(_failed(dataset, window, run_id, job, error, f"not recorded: the load left it {status}; its next attempt marks it failed"))
        else:
            failed.append(_failed(dataset, window, run_id, job, recorded_error or error, "already recorded"))
    attempts = [
        Attempt(dataset.name, dataset.load.table, w.key, w.start, w.end, run_id, dataset.load.strategy, tuple(dataset.load.keys or ()))
        for w in missing
    ]
    written = set(ledger.record_failed(attempts, error))
    failed += [_failed(dataset, w, run_id, job, error, "recorded" if w.key in written else "already recorded") for w in missing]
    order = {window.key: index for index, window in enumerate(windows)}
    return sorted(failed, key=lambda failure: order[failure.window.key])  # type: ignore[union-attr]


def unrecorded_windows(
    dataset: DatasetConfig, windows: Sequence[TimeWindow | None], run_id: str, job: str, error: str, why: str
) -> list[FailedWindow]:
    """The run's windows as failed, when the ledger could not be written (`why`) or there is no window to write."""
    return [_failed(dataset, window, run_id, job, error, f"not recorded: {why}") for window in windows]


def _failed(dataset: DatasetConfig, window: TimeWindow | None, run_id: str, job: str, error: str, ledger: str) -> FailedWindow:
    return FailedWindow(dataset.name, dataset.target_name, window, run_id, job, error, ledger)


def alert_payload(failure: FailedWindow) -> dict[str, Any]:
    """The alert as JSON-ready fields, with a one-line `text` that chat webhooks (Slack, Teams, Mattermost) show."""
    window = failure.window
    where = f"window {window.key}" if window else "a run without windows"
    return {
        "text": f"ETL load failed: {failure.dataset} {where} (run {failure.run_id[:8]}): {failure.error}",
        "event": ALERT_EVENT,
        "dataset": failure.dataset,
        "table": failure.table,
        "window": window.key if window else None,
        "window_start": window.start.isoformat() if window else None,
        "window_end": window.end.isoformat() if window else None,
        "run_id": failure.run_id,
        "job": failure.job,
        "error": failure.error,
        "ledger": failure.ledger,
    }


def run_alert_payload(failures: Sequence[FailedWindow]) -> dict[str, Any]:
    """What the hooks get: one payload per failed run, however many windows it had, so a failed backfill of a
    year is one chat message, not 365; `windows` lists each window with its own ledger state and error."""
    first = failures[0]
    windows = [failure.window for failure in failures if failure.window]
    if not windows:
        where = "a run without windows"
    elif len(windows) == 1:
        where = f"window {windows[0].key}"
    else:
        where = f"{len(windows)} windows, {windows[0].key} to {windows[-1].key}"
    per_window = [{key: value for key, value in alert_payload(failure).items() if key.startswith("window") or key in ("error", "ledger")} for failure in failures]
    return {
        "text": f"ETL load failed: {first.dataset} {where} (run {first.run_id[:8]}): {first.error}",
        "event": RUN_ALERT_EVENT,
        "dataset": first.dataset,
        "table": first.table,
        "run_id": first.run_id,
        "job": first.job,
        "error": first.error,
        "windows": per_window,
    }


def alert_log_line(payload: Mapping[str, Any]) -> str:
    """The payload's fields as one line of JSON, for log search; the chat `text` repeats them, so it is left out."""
    return json.dumps({key: value for key, value in payload.items() if key != "text"}, default=str)


class WebhookHook:
    """POSTs the payload as JSON to a URL; an HTTP error status or a timeout raises.

    `resolve_secrets` turns a ${SECRET:...} in the URL into its value at each call, so a vault problem fails only
    this hook.
    """

    def __init__(self, url: str, timeout_seconds: float, resolve_secrets: Callable[[str], str] = str) -> None:
        self.url, self.timeout_seconds, self._resolve_secrets = url, timeout_seconds, resolve_secrets

    def __call__(self, payload: dict[str, Any]) -> int:
        request = urllib.request.Request(
            self._resolve_secrets(self.url),
            data=json.dumps(payload, default=str).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "etl-assets-alerts"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # http(s) only, as validated
            return response.status


def hooks_for(alerts: AlertsConfig, resolve_secrets: Callable[[str], str] = str) -> dict[str, AlertHook]:
    """The configured hooks by name: `webhook` and the `hook` function's own reference."""
    hooks: dict[str, AlertHook] = {}
    if alerts.webhook is not None and alerts.webhook.url:
        hooks["webhook"] = WebhookHook(alerts.webhook.url, alerts.webhook.timeout_seconds, resolve_secrets)
    if alerts.hook is not None:
        hooks[alerts.hook] = import_function(alerts.hook)
    return hooks


def deliver(payload: dict[str, Any], hooks: Mapping[str, AlertHook]) -> dict[str, str]:
    """Call each hook with the payload; for each that failed, its name and one logged sentence saying so."""
    failed = {}
    for name, hook in hooks.items():
        try:
            hook(payload)
        except Exception as exc:  # a broken hook must not cost the other hooks, the log line or the ledger entry
            failed[name] = (
                f"The alert hook {name} failed for {payload['dataset']} run {payload['run_id'][:8]} "
                f"({type(exc).__name__}: {error_sentence(str(exc))}); the failure is in the ledger and the log all the same."
            )
            LOGGER.warning(failed[name])
    return failed
