"""The `alerts:` section: a webhook URL (often from the environment) and a Python hook, and one sentence per mistake."""

from __future__ import annotations

import pytest

DATASETS = """
version: 1
datasets:
  orders: {source: {path: /in/orders}, load: {table: ORDERS}}
"""


def with_alerts(alerts: str) -> str:
    return DATASETS + f"alerts: {alerts}\n"


def test_without_alerts_only_the_ledger_and_the_log_get_them(load_text):
    alerts = load_text(DATASETS).alerts

    assert (alerts.webhook, alerts.hook) == (None, None)


def test_the_webhook_url_comes_from_the_environment_and_the_hook_is_a_function(load_text):
    config = load_text(
        with_alerts('{webhook: {url: "${ENV:ETL_ALERT_WEBHOOK}", timeout_seconds: 2}, hook: "etl_assets_tests.alert_hooks:remember"}'),
        environ={"ETL_ALERT_WEBHOOK": "https://hooks.example.com/services/T0/B0/x"},
    )

    assert config.alerts.webhook.url == "https://hooks.example.com/services/T0/B0/x"
    assert config.alerts.webhook.timeout_seconds == 2
    assert config.alerts.hook == "etl_assets_tests.alert_hooks:remember"


def test_an_unset_variable_with_an_empty_default_turns_the_webhook_off(load_text):
    config = load_text(with_alerts('{webhook: {url: "${ENV:ETL_ALERT_WEBHOOK:}"}}'))

    assert config.alerts.webhook.url == ""


def test_a_url_that_is_no_web_address_is_one_sentence(config_error):
    error = str(config_error(with_alerts("{webhook: {url: not-a-url}}")))

    assert error.endswith(
        "/etl_config.yaml: field 'alerts.webhook.url': got 'not-a-url', which is not a web address; write "
        "http://HOST/PATH or https://HOST/PATH, or ${ENV:NAME} to take it from the environment."
    )
    assert "\n" not in error and "Traceback" not in error


@pytest.mark.parametrize(
    ("alerts", "problem"),
    [
        ("{webhook: {url: 'ftp://files.example.com/x'}}", "field 'alerts.webhook.url': got 'ftp://files.example.com/x', which is not a web address"),
        ("{hook: not_a_reference}", "field 'alerts.hook': got 'not_a_reference'; write package.module:function."),
        ("{hook: 'etl_assets_tests.alert_hooks:missing'}", "field 'alerts.hook': module 'etl_assets_tests.alert_hooks' has no function 'missing'"),
        ("{webhook: {url: 'https://x.example.com', retries: 3}}", "field 'alerts.webhook': unknown key 'retries'; allowed: url, timeout_seconds."),
        ("{email: ops@example.com}", "field 'alerts': unknown key 'email'; allowed: webhook, hook."),
    ],
)
def test_each_mistake_is_one_sentence_naming_its_field(config_error, alerts, problem):
    error = str(config_error(with_alerts(alerts)))

    assert problem in error and error.count("\n") == 0
