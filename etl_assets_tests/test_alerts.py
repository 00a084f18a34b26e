"""Alert payloads, the webhook's POST to a real loopback server, custom hooks, and hooks that fail."""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest

from etl_assets import alerts
from etl_assets.alerts import FailedWindow, WebhookHook, alert_log_line, alert_payload, deliver, error_sentence, hooks_for, run_alert_payload
from etl_assets.config.alerts import AlertsConfig, WebhookConfig
from etl_assets.ingest.windows import TimeWindow
from etl_assets_tests import alert_hooks
from etl_assets_tests.alert_hooks import loopback_webhook

MARCH_3 = TimeWindow("2026-03-03", dt.datetime(2026, 3, 3, tzinfo=dt.UTC), dt.datetime(2026, 3, 4, tzinfo=dt.UTC))
FAILURE = FailedWindow(
    dataset="events",
    table="ANALYTICS.ALERTS.EVENTS",
    window=MARCH_3,
    run_id="0f1e2d3c-aaaa-bbbb-cccc-000000000000",
    job="events_chain",
    error="Loading window 2026-03-03 failed: column value cannot take 'x'.",
    ledger="recorded",
)
PAYLOAD = {
    "text": "ETL load failed: events window 2026-03-03 (run 0f1e2d3c): Loading window 2026-03-03 failed: column value cannot take 'x'.",
    "event": "etl_assets.window_failed",
    "dataset": "events",
    "table": "ANALYTICS.ALERTS.EVENTS",
    "window": "2026-03-03",
    "window_start": "2026-03-03T00:00:00+00:00",
    "window_end": "2026-03-04T00:00:00+00:00",
    "run_id": "0f1e2d3c-aaaa-bbbb-cccc-000000000000",
    "job": "events_chain",
    "error": "Loading window 2026-03-03 failed: column value cannot take 'x'.",
    "ledger": "recorded",
}


# what the hooks get for a run whose one window failed
RUN_PAYLOAD = {
    "text": PAYLOAD["text"],
    "event": "etl_assets.run_failed",
    **{key: PAYLOAD[key] for key in ("dataset", "table", "run_id", "job", "error")},
    "windows": [{key: PAYLOAD[key] for key in ("window", "window_start", "window_end", "error", "ledger")}],
}


@pytest.fixture(autouse=True)
def no_payload_kept():
    alert_hooks.RECEIVED.clear()
    yield
    alert_hooks.RECEIVED.clear()


def test_the_payload_has_a_chat_text_and_every_field():
    assert alert_payload(FAILURE) == PAYLOAD


def test_the_hooks_get_one_payload_per_run_naming_its_windows():
    march_4 = TimeWindow("2026-03-04", MARCH_3.end, dt.datetime(2026, 3, 5, tzinfo=dt.UTC))
    loader_failed = FailedWindow(**{**FAILURE.__dict__, "window": march_4, "error": "The load failed.", "ledger": "already recorded"})

    assert run_alert_payload([FAILURE]) == RUN_PAYLOAD
    payload = run_alert_payload([FAILURE, loader_failed])
    assert payload["text"] == f"ETL load failed: events 2 windows, 2026-03-03 to 2026-03-04 (run 0f1e2d3c): {FAILURE.error}"
    assert [(w["window"], w["error"], w["ledger"]) for w in payload["windows"]] == [
        ("2026-03-03", FAILURE.error, "recorded"), ("2026-03-04", "The load failed.", "already recorded"),
    ]  # fmt: skip
    windowless = FailedWindow(**{**FAILURE.__dict__, "window": None})
    assert run_alert_payload([windowless])["text"].startswith("ETL load failed: events a run without windows (run 0f1e2d3c)")


def test_the_log_line_is_the_fields_as_one_line_of_json():
    line = alert_log_line(PAYLOAD)

    assert "\n" not in line
    assert json.loads(line) == {key: value for key, value in PAYLOAD.items() if key != "text"}


@pytest.mark.parametrize(
    ("message", "sentence"),
    [
        ("dagster._core.definitions.events.Failure: Loading X failed: bad value.\n\nStack Trace:\n  File ...", "Loading X failed: bad value."),
        ("etl_assets.errors.IngestError: 2 of 3 rows unreadable; fix the file.", "2 of 3 rows unreadable; fix the file."),
        ("Execution of run for \"x\" failed: a step failed.", "Execution of run for \"x\" failed: a step failed."),
        ("", "the run failed without an error message"),
    ],
)
def test_an_error_becomes_its_first_line_without_the_exception_class(message, sentence):
    assert error_sentence(message) == sentence


def test_a_long_error_is_shortened():
    assert len(error_sentence("x" * 5000)) == alerts.LONGEST_ERROR


def test_the_webhook_posts_the_payload_as_json_to_a_loopback_server():
    with loopback_webhook() as webhook:
        status = WebhookHook(webhook.url, timeout_seconds=5)(RUN_PAYLOAD)

    assert status == 200
    assert webhook.posts == [("/hooks/etl", "application/json", RUN_PAYLOAD)]


def test_the_configured_hooks_are_the_webhook_and_the_custom_function():
    with loopback_webhook() as webhook:
        hooks = hooks_for(AlertsConfig(webhook=WebhookConfig(url=webhook.url), hook="etl_assets_tests.alert_hooks:remember"))
        failed = deliver(RUN_PAYLOAD, hooks)

    assert failed == {}
    assert sorted(hooks) == ["etl_assets_tests.alert_hooks:remember", "webhook"]
    assert [body for _, _, body in webhook.posts] == [RUN_PAYLOAD]
    assert alert_hooks.RECEIVED == [RUN_PAYLOAD]


def test_an_empty_webhook_url_sends_nothing():
    assert hooks_for(AlertsConfig(webhook=WebhookConfig(url=""))) == {}


def test_the_webhook_url_has_its_secret_resolved_when_it_posts():
    with loopback_webhook() as webhook:
        secret_url = "${SECRET:alerts.url}"
        hooks = hooks_for(AlertsConfig(webhook=WebhookConfig(url=secret_url)), lambda text: text.replace(secret_url, webhook.url))
        assert deliver(RUN_PAYLOAD, hooks) == {}

    assert len(webhook.posts) == 1


def test_a_failing_hook_is_logged_and_the_others_still_get_the_payload(caplog):
    with loopback_webhook(status=500) as webhook:
        hooks = {
            "webhook": WebhookHook(webhook.url, timeout_seconds=5),
            "etl_assets_tests.alert_hooks:explode": alert_hooks.explode,
            "etl_assets_tests.alert_hooks:remember": alert_hooks.remember,
        }
        with caplog.at_level("WARNING", logger="etl_assets.alerts"):
            failed = deliver(RUN_PAYLOAD, hooks)

    assert sorted(failed) == ["etl_assets_tests.alert_hooks:explode", "webhook"]
    assert failed["webhook"] == (
        "The alert hook webhook failed for events run 0f1e2d3c (HTTPError: HTTP Error 500: Internal Server Error); "
        "the failure is in the ledger and the log all the same."
    )
    assert "hook broke on 2026-03-03" in failed["etl_assets_tests.alert_hooks:explode"]
    assert alert_hooks.RECEIVED == [RUN_PAYLOAD]
    assert [record.getMessage() for record in caplog.records] == list(failed.values())


def test_a_webhook_that_does_not_answer_in_time_fails_only_that_hook():
    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        hook = WebhookHook(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout_seconds=0.2)
        failed = deliver(RUN_PAYLOAD, {"webhook": hook, "custom": alert_hooks.remember})

    assert list(failed) == ["webhook"] and "timed out" in failed["webhook"]
    assert alert_hooks.RECEIVED == [RUN_PAYLOAD]
