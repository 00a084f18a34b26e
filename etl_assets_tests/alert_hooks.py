"""Alert hooks for the tests: a Python hook that keeps what it is given, one that fails, and a loopback webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RECEIVED: list[dict[str, Any]] = []


def remember(payload: dict[str, Any]) -> None:
    """A custom hook (`hook: etl_assets_tests.alert_hooks:remember`) that keeps each payload in RECEIVED."""
    RECEIVED.append(payload)


def explode(payload: dict[str, Any]) -> None:
    """A custom hook that always fails, as a broken one would."""
    raise RuntimeError(f"hook broke on {payload['windows'][0]['window']}")


@dataclass
class LoopbackWebhook:
    url: str
    # each POST as (path, Content-Type, JSON body)
    posts: list[tuple[str, str, Any]] = field(default_factory=list)


@contextmanager
def loopback_webhook(status: int = 200) -> Iterator[LoopbackWebhook]:
    """An HTTP server on 127.0.0.1 (a free port) answering every POST with `status`, stopped on leaving."""
    webhook = LoopbackWebhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            webhook.posts.append((self.path, self.headers["Content-Type"], json.loads(body)))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    webhook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/etl"
    try:
        yield webhook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
