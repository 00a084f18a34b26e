"""Alerts on failed runs, declared under the config's top-level `alerts:`: a webhook, a Python hook, or both."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from etl_assets.config.base import StrictModel
from etl_assets.config.marts import FunctionReference
from etl_assets.config.secrets import SecretText, secret_reference_in

WEB_ADDRESS = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?")


class WebhookConfig(StrictModel):
    """A URL that each failed window's alert is POSTed to as JSON (Slack-compatible: a `text` plus the fields)."""

    # a webhook URL carries its token, so it may be a ${SECRET:profile.field}; empty (an unset ${ENV:NAME:}) is off
    url: SecretText
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _web_address(cls, url: str) -> str:
        if url and secret_reference_in(url) is None and not WEB_ADDRESS.fullmatch(url):
            raise ValueError(
                f"got {url!r}, which is not a web address; write http://HOST/PATH or https://HOST/PATH, "
                "or ${ENV:NAME} to take it from the environment"
            )
        return url


class AlertsConfig(StrictModel):
    """Where alerts go besides the load ledger and the `etl_assets.alerts` log, which always get them."""

    webhook: WebhookConfig | None = None
    # package.module:function, called with each alert's payload (a dict)
    hook: FunctionReference | None = None
