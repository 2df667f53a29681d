"""Drive headless Chromium (the system's /usr/bin/chromium) over the DevTools protocol against the
dashboard: console errors, CSP violations, requests, horizontal overflow and screenshots per width.

The protocol plumbing is tests/reports/chromium_cdp.py's; this adds navigation to URLs and widths.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reports.chromium_cdp import CHROMIUM, FLAGS, _Cdp, _wait_port


@dataclass
class Visit:
    url: str
    width: int
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # console errors, exceptions, log errors (CSP)
    scroll_width: int = 0
    client_width: int = 0
    body_text: str = ""
    screenshot: bytes = b""


class Browser:
    def __init__(self, cdp: _Cdp) -> None:
        self.cdp = cdp
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.call(f"{domain}.enable")

    def evaluate(self, expression: str) -> Any:
        return self.cdp.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def visit(self, url: str, width: int, *, settle: float = 0.5) -> Visit:
        self.cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
        self.cdp.events.clear()
        self.cdp.call("Page.navigate", url=url)
        self.cdp.wait_event("Page.loadEventFired", 20)
        self.cdp.drain(settle)
        result = Visit(url, width)
        self._collect(result)
        result.scroll_width = int(self.evaluate("document.documentElement.scrollWidth"))
        result.client_width = int(self.evaluate("document.documentElement.clientWidth"))
        result.body_text = str(self.evaluate("document.body.innerText"))
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
        shot = self.cdp.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": min(height, 5000), "scale": 1},
        )
        result.screenshot = base64.b64decode(shot["data"])
        return result

    def wait_text(self, text: str, timeout: float) -> str:
        """The page's text once it contains ``text`` (the page may reload meanwhile)."""
        import time

        deadline = time.monotonic() + timeout
        body = ""
        while time.monotonic() < deadline:
            self.cdp.drain(0.2)
            with contextlib.suppress(RuntimeError):
                body = str(self.evaluate("document.body ? document.body.innerText : ''"))
            if text in body:
                return body
        raise TimeoutError(f"{text!r} not on the page; it shows: {body[:500]}")

    def problems(self) -> list[str]:
        found = Visit("", 0)
        self._collect(found)
        return found.problems

    def _collect(self, result: Visit) -> None:
        for event in self.cdp.events:
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                result.problems.append("console: " + json.dumps(params.get("args"))[:300])
            elif method == "Runtime.exceptionThrown":
                result.problems.append("exception: " + json.dumps(params.get("exceptionDetails"))[:300])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                result.problems.append("log: " + params["entry"].get("text", "")[:300])


@contextlib.contextmanager
def chromium(tmp: Path) -> Iterator[Browser]:
    """A headless Chromium with a fresh profile, stopped (its whole process group) at the end."""
    import requests

    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp))
    with (profile.parent / f"{profile.name}.log").open("wb") as log:
        proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            port = _wait_port(profile, proc)
            targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
            page = next(t for t in targets if t.get("type") == "page")
            cdp = _Cdp(page["webSocketDebuggerUrl"])
            try:
                yield Browser(cdp)
            finally:
                cdp.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
