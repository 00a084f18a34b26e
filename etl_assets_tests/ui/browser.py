"""Headless Chromium driven through the DevTools protocol: navigate, wait for text, click like a user, screenshot."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from websockets.sync.client import connect

from etl_assets_tests.profiling.browser import CHROMIUM_FLAGS, chromium
from etl_assets_tests.ui.dagster_dev import stop_process_group

WINDOW = (1600, 1000)


class Page:
    """One tab; every call waits for Chromium's answer."""

    def __init__(self, websocket, browser_pid: int) -> None:
        self._websocket = websocket
        self._last_id = 0
        self.browser_pid = browser_pid

    def send(self, method: str, **params) -> dict:
        self._last_id += 1
        self._websocket.send(json.dumps({"id": self._last_id, "method": method, "params": params}))
        while True:  # events arrive in between; only our answer counts
            message = json.loads(self._websocket.recv(timeout=60))
            if message.get("id") == self._last_id:
                assert "error" not in message, f"{method}: {message['error']}"
                return message["result"]

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, f"{expression!r} raised: {result['exceptionDetails']}"
        return result["result"].get("value")

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def wait_for(self, expression: str, timeout: float = 60, what: str = ""):
        """Poll a JavaScript expression until it is truthy; return its value. While the page loads it may raise."""
        guarded = f"(() => {{ try {{ return ({expression}); }} catch (error) {{ return null; }} }})()"
        deadline = time.monotonic() + timeout
        while not (value := self.evaluate(guarded)):
            assert time.monotonic() < deadline, f"waited {timeout:g} s for {what or expression}"
            time.sleep(0.5)
        return value

    def text(self) -> str:
        return self.evaluate("document.body.innerText")

    def click(self, x: float, y: float) -> None:
        """A real left click: the mouse moves there, presses and releases."""
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
        print(f"screenshot: {path}")
        return path


@contextmanager
def chromium_page(profile_dir: Path, timeout: float = 60) -> Iterator[Page]:
    """Start headless Chromium in its own process group with a DevTools port; stop the group by pid on the way out."""
    profile_dir.mkdir(parents=True, exist_ok=True)
    (profile_dir / "DevToolsActivePort").unlink(missing_ok=True)  # a reused profile keeps the last run's port
    command = [
        chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "--remote-debugging-port=0",
        f"--window-size={WINDOW[0]},{WINDOW[1]}", "about:blank",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        port = _devtools_port(profile_dir / "DevToolsActivePort", process, timeout)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as response:
            target = next(t for t in json.load(response) if t["type"] == "page")
        with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as websocket:
            page = Page(websocket, process.pid)
            page.send("Page.enable")
            page.send("Emulation.setDeviceMetricsOverride", width=WINDOW[0], height=WINDOW[1], deviceScaleFactor=1, mobile=False)
            yield page
    finally:
        stop_process_group(process, grace=10)


def _devtools_port(port_file: Path, process: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while not (port_file.exists() and port_file.read_text().strip()):
        assert process.poll() is None, f"chromium exited with {process.returncode} before it opened its DevTools port"
        assert time.monotonic() < deadline, f"chromium did not open its DevTools port in {timeout:g} s"
        time.sleep(0.2)
    return int(port_file.read_text().splitlines()[0])
