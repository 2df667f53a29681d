"""Open a local file in headless Chromium and watch it through the DevTools protocol.

Collects console errors, uncaught exceptions, log errors (CSP violations land there) and every
network request the page makes, and takes a full-page screenshot. Uses the real Debian
``chromium`` and websocket-client (a dependency of the kubernetes client).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
    "--window-size=1280,1000",
]


@dataclass
class PageVisit:
    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    svg_count: int = 0
    title: str = ""
    body_text: str = ""
    screenshot: bytes = b""


class _Cdp:
    def __init__(self, ws_url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=20, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        wanted = self.next_id
        self.ws.send(json.dumps({"id": wanted, "method": method, "params": params}))
        self.ws.settimeout(20)
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def wait_event(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if any(e["method"] == name for e in self.events):
            return
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            message = json.loads(self.ws.recv())
            if "method" in message:
                self.events.append(message)
                if message["method"] == name:
                    return
        raise TimeoutError(name)

    def drain(self, seconds: float) -> None:
        import websocket

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                return
            if "method" in message:
                self.events.append(message)

    def close(self) -> None:
        self.ws.close()


def _wait_port(profile: Path, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists():
            lines = marker.read_text().splitlines()
            if lines and lines[0].isdigit():
                return int(lines[0])
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}")
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


@contextlib.contextmanager
def _page(tmp: Path) -> Iterator[_Cdp]:
    """A fresh headless Chromium with one page, driven through the DevTools protocol."""
    import requests

    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp))  # fresh: no stale DevToolsActivePort
    log = (profile.parent / f"{profile.name}.log").open("wb")
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
            yield cdp
        finally:
            cdp.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def _evaluate(cdp: _Cdp, expr: str) -> Any:
    return cdp.call("Runtime.evaluate", expression=expr, returnByValue=True)["result"].get("value")


def visit(path: Path, tmp: Path) -> PageVisit:
    """Load ``path`` (a local HTML file) and report what the page did."""
    url = path.resolve().as_uri()
    result = PageVisit(url=url)
    with _page(tmp) as cdp:
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.call(f"{domain}.enable")
        cdp.events.clear()
        cdp.call("Page.navigate", url=url)
        cdp.wait_event("Page.loadEventFired", 20)
        cdp.drain(0.5)
        for event in cdp.events:
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                result.console_errors.append(json.dumps(params.get("args"))[:300])
            elif method == "Runtime.exceptionThrown":
                result.exceptions.append(json.dumps(params.get("exceptionDetails"))[:300])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                result.log_errors.append(params["entry"].get("text", "")[:300])
        result.svg_count = int(_evaluate(cdp, "document.querySelectorAll('svg').length"))
        result.title = str(_evaluate(cdp, "document.title"))
        result.body_text = str(_evaluate(cdp, "document.body.innerText"))
        height = int(_evaluate(cdp, "Math.ceil(document.documentElement.scrollHeight)"))
        shot = cdp.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": min(height, 6000), "scale": 1},
        )
        result.screenshot = base64.b64decode(shot["data"])
    return result


@dataclass(frozen=True)
class Fit:
    """How a page laid out at one viewport width: the document's width and what sticks out."""

    viewport: int
    document_width: int
    too_wide: list[str]  # elements whose right edge is past the viewport (tag.class: width)
    clipped_text: list[str]  # SVG text drawn (partly) outside its chart's viewBox
    screenshot: bytes


_TOO_WIDE = """(() => {
  const limit = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.right > limit + 1 && out.length < 20)
      out.push(el.tagName.toLowerCase() + '.' + el.className + ': ' + Math.round(box.right));
  }
  return out;
})()"""


_CLIPPED_TEXT = """(() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg')) {
    const view = svg.viewBox.baseVal;
    for (const text of svg.querySelectorAll('text')) {
      if (text.getAttribute('transform')) continue;
      const box = text.getBBox();
      if (box.x < view.x - 0.5 || box.x + box.width > view.x + view.width + 0.5) out.push(text.textContent);
    }
  }
  return out;
})()"""


def fits(path: Path, tmp: Path, widths: tuple[int, ...]) -> list[Fit]:
    """Load ``path`` at each viewport width (CSS pixels) and measure the document's width."""
    url = path.resolve().as_uri()
    found: list[Fit] = []
    with _page(tmp) as cdp:
        cdp.call("Page.enable")
        for width in widths:
            cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
            cdp.events.clear()
            cdp.call("Page.navigate", url=url)
            cdp.wait_event("Page.loadEventFired", 20)
            document_width = int(_evaluate(cdp, "Math.ceil(document.documentElement.scrollWidth)"))
            shot = cdp.call("Page.captureScreenshot", format="png")
            too_wide, clipped = list(_evaluate(cdp, _TOO_WIDE)), list(_evaluate(cdp, _CLIPPED_TEXT))
            found.append(Fit(width, document_width, too_wide, clipped, base64.b64decode(shot["data"])))
    return found
