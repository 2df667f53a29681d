"""Headless Chromium for the page tests (tests/reports, tests/serve) through Playwright's Python API.

Drives the system's Chromium (Debian ``chromium``; Playwright's own browser download is never
used). Every page a :class:`Browser` opens is watched: each request, console errors, uncaught
exceptions and the browser's own log errors (a Content-Security-Policy violation lands there).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, Error, FloatRect, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
HEIGHT = 900
MAX_SHOT_HEIGHT = 6000


@dataclass
class Visit:
    """What one page did while it loaded and settled, and how it laid out at ``width``."""

    url: str
    width: int
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)  # console.error / console.assert
    exceptions: list[str] = field(default_factory=list)  # uncaught in the page's scripts
    log_errors: list[str] = field(default_factory=list)  # the browser's own errors: CSP violations
    title: str = ""
    body_text: str = ""
    svg_count: int = 0
    scroll_width: int = 0
    client_width: int = 0
    screenshot: bytes = b""

    @property
    def problems(self) -> list[str]:
        return [*self.console_errors, *self.exceptions, *self.log_errors]


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


class Browser:
    """One page of a headless Chromium; :meth:`visit` loads a URL and reports what it did."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self._seen = Visit("", 0)
        page.on("request", lambda request: self._seen.requests.append(request.url))
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self._seen.exceptions.append(str(error)[:300]))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "assert"):
            return
        # The browser's own log entries (CSP violations, failed loads) come without arguments.
        (self._seen.console_errors if message.args else self._seen.log_errors).append(message.text[:300])

    def evaluate(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def visit(self, url: str, width: int, *, settle: float = 0.5) -> Visit:
        """Load ``url`` at ``width`` CSS pixels, let it run ``settle`` seconds, measure and screenshot it."""
        self.page.set_viewport_size({"width": width, "height": HEIGHT})
        self._seen = Visit(url, width)
        self.page.goto(url, wait_until="load", timeout=20_000)
        self.page.wait_for_timeout(settle * 1000)
        seen = self._seen
        seen.title = self.page.title()
        seen.body_text = str(self.evaluate("document.body.innerText"))
        seen.svg_count = int(self.evaluate("document.querySelectorAll('svg').length"))
        seen.scroll_width = int(self.evaluate("document.documentElement.scrollWidth"))
        seen.client_width = int(self.evaluate("document.documentElement.clientWidth"))
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
        clip: FloatRect = {"x": 0, "y": 0, "width": width, "height": min(height, MAX_SHOT_HEIGHT)}
        seen.screenshot = self.page.screenshot(full_page=True, clip=clip)
        return seen

    def fit(self, url: str, width: int) -> Fit:
        """Load ``url`` at ``width`` and find what does not fit (the viewport's screenshot with it)."""
        self.page.set_viewport_size({"width": width, "height": HEIGHT})
        self.page.goto(url, wait_until="load", timeout=20_000)
        document_width = int(self.evaluate("Math.ceil(document.documentElement.scrollWidth)"))
        too_wide, clipped = list(self.evaluate(_TOO_WIDE)), list(self.evaluate(_CLIPPED_TEXT))
        return Fit(width, document_width, too_wide, clipped, self.page.screenshot())

    def problems(self) -> list[str]:
        """Console errors, exceptions and log errors since the last :meth:`visit`."""
        return self._seen.problems

    def wait_text(self, text: str, timeout: float) -> str:
        """The page's text once it contains ``text`` (the page may reload meanwhile)."""
        deadline = time.monotonic() + timeout
        body = ""
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(200)
            with contextlib.suppress(Error):  # the page is between two documents
                body = str(self.evaluate("document.body ? document.body.innerText : ''"))
            if text in body:
                return body
        raise TimeoutError(f"{text!r} not on the page; it shows: {body[:500]}")


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """A fresh headless Chromium (new profile) with one page; closed at the end."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield Browser(browser.new_page(viewport={"width": 1280, "height": HEIGHT}))
        finally:
            browser.close()


def visit_file(path: Path, width: int = 1280) -> Visit:
    """Load a local HTML file in a fresh browser and report what the page did."""
    with chromium() as browser:
        return browser.visit(path.resolve().as_uri(), width)


def fits(path: Path, widths: tuple[int, ...]) -> list[Fit]:
    """Load a local HTML file at each viewport width (CSS pixels) and measure what sticks out."""
    with chromium() as browser:
        return [browser.fit(path.resolve().as_uri(), width) for width in widths]
