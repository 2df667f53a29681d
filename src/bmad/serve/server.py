"""The HTTP server: read-only routes over the ledger, security headers, server-sent events.

Standard library only (:class:`http.server.ThreadingHTTPServer`): the dashboard serves a handful
of server-rendered pages and one small script, so no web framework is needed.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bmad.core.models import PhaseStatus, Release
from bmad.ledger.records import LATEST_ATTEMPTS
from bmad.reports.metrics import select_releases
from bmad.reports.source import release_view
from bmad.reports.views import ReleaseView
from bmad.serve.board import BoardFilter, BoardSummary, render_board, summarise
from bmad.serve.integrity import VerifiedChain, render_integrity
from bmad.serve.layout import SECURITY_HEADERS, esc, layout, without_controls
from bmad.serve.page_cache import PageCache, PageKey
from bmad.serve.release_page import live_state, render_document, render_release
from bmad.serve.security import TOKEN_COOKIE, Access
from bmad.serve.snapshot import ReleaseSnapshot
from bmad.serve.trends import render_trends

if TYPE_CHECKING:
    from bmad.engine.runner import Ledger

STATIC = {"live.js": "text/javascript; charset=utf-8", "serve.css": "text/css; charset=utf-8"}
STREAM_SECONDS = 300.0  # an event stream ends after this long; the browser reconnects
_RELEASE_PATH = re.compile(r"^/release/(\d{1,18})(?:/(runbook|checklist|rollback-plan))?$")
_EVENTS_PATH = re.compile(r"^/events/release/(\d{1,18})$")


class NotFound(Exception):
    """The path names nothing the dashboard shows."""


class DashboardServer(ThreadingHTTPServer):
    """Serves the dashboard of ``ledger`` until :meth:`shutdown`; streams stop then too."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], ledger: Ledger, access: Access, *, poll_seconds: float = 1.0) -> None:
        self.ledger = ledger
        self.access = access
        self.poll_seconds = poll_seconds
        self.closing = threading.Event()
        self.snapshot = ReleaseSnapshot(ledger, interval=poll_seconds, closing=self.closing)
        self.pages = PageCache()
        self.chain = VerifiedChain(ledger)
        self._summary: tuple[int, BoardSummary] | None = None  # (snapshot generation, its summary)
        self._summary_lock = threading.Lock()
        super().__init__(address, DashboardHandler)
        self.snapshot.start()

    def board_summary(self) -> BoardSummary:
        """The board's summary of the snapshot's releases, worked out once per load."""
        views = self.snapshot.views()
        generation = self.snapshot.generation
        with self._summary_lock:
            if self._summary is not None and self._summary[0] == generation and self._summary[1].views is views:
                return self._summary[1]
        summary = summarise(views)
        with self._summary_lock:
            self._summary = (generation, summary)
        return summary

    def shutdown(self) -> None:
        self.closing.set()
        super().shutdown()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}/"


class DashboardHandler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "bmad-serve"
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: with Nagle's algorithm a small body waits for the client's
    # delayed ACK of the headers (~40 ms on Linux) on every kept-alive request.
    disable_nagle_algorithm = True

    # ------------------------------------------------------------------ methods

    def version_string(self) -> str:
        """The ``Server`` header: no Python version."""
        return self.server_version

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def __getattr__(self, name: str) -> Callable[[], None]:
        """Every other method (POST, PUT, DELETE, OPTIONS, TRACE, anything): 405, the dashboard is read-only."""
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self._send_page(HTTPStatus.METHOD_NOT_ALLOWED, "read-only: only GET and HEAD", head=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the dashboard logs nothing per request."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's errors (bad request line, headers too long) with the dashboard's headers."""
        self._send_page(HTTPStatus(code), message or HTTPStatus(code).phrase, head=self.command == "HEAD")

    # ------------------------------------------------------------------ routing

    def _answer(self, *, head: bool) -> None:
        access = self.server.access
        if not access.host_ok(self.headers.get("Host")):
            self._send_page(HTTPStatus.MISDIRECTED_REQUEST, "unknown host name", head=head)
            return
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items() if v and v[0]}
        if access.token is not None and not self._authorised(parts.path, params, head=head):
            return
        try:
            self._route(parts.path, params, head=head)
        except NotFound:
            self._send_page(HTTPStatus.NOT_FOUND, "nothing here", head=head)
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as exc:  # the page fails, the server stays up; the error's text may hold ledger details
            self._send_page(
                HTTPStatus.INTERNAL_SERVER_ERROR, f"the ledger could not be read ({type(exc).__name__})", head=head
            )

    def _authorised(self, path: str, params: dict[str, str], *, head: bool) -> bool:
        """Bearer header or cookie; ``?token=`` once sets the cookie and redirects to the clean URL."""
        access = self.server.access
        given = params.pop("token", None)
        if given is not None and access.token_ok(given):
            clean = "/" + path.lstrip("/") + (f"?{urlencode(params)}" if params else "")  # never //other.host
            cookie = f"{TOKEN_COOKIE}={given}; HttpOnly; SameSite=Strict; Path=/"
            self._send(
                HTTPStatus.SEE_OTHER, b"", "text/plain", head=True, extra={"Location": clean, "Set-Cookie": cookie}
            )
            return False
        if access.token_ok(Access.presented(self.headers.get("Authorization"), self.headers.get("Cookie"))):
            return True
        self._send_page(HTTPStatus.UNAUTHORIZED, "a token is needed", head=head, extra={"WWW-Authenticate": "Bearer"})
        return False

    def _route(self, path: str, params: dict[str, str], *, head: bool) -> None:
        ledger, snapshot = self.server.ledger, self.server.snapshot
        if path == "/":
            chosen = BoardFilter(params.get("service"), params.get("environment"), params.get("outcome"))
            self._send_kept(path, params, lambda now: render_board(self.server.board_summary(), chosen, now), head=head)
        elif path == "/metrics":
            service, environment = params.get("service"), params.get("environment")

            def trends(now: datetime) -> str:
                views = select_releases(snapshot.views(), service=service, environment=environment)
                return render_trends(views, service=service, environment=environment, now=now)

            self._send_kept(path, params, trends, head=head)
        elif path == "/integrity":
            verification = self.server.chain.current()
            page = render_integrity(verification, snapshot.newest_chained(), ledger.dialect)
            self._send_html(page, head=head)
        elif path.startswith("/static/") and path[8:] in STATIC:
            body = resources.files("bmad.serve").joinpath("static", path[8:]).read_bytes()
            self._send(HTTPStatus.OK, body, STATIC[path[8:]], head=head)
        elif path == "/events/board":
            self._stream("board", lambda: {"fingerprint": self.server.board_summary().fingerprint}, head=head)
        elif (match := _EVENTS_PATH.match(path)) is not None:
            self._release_stream(match.group(1), head=head)
        elif (match := _RELEASE_PATH.match(path)) is not None:
            self._release(match.group(1), match.group(2), head=head)
        else:
            raise NotFound(path)

    def _release_stream(self, release_id: str, *, head: bool) -> None:
        ledger = self.server.ledger
        release = self._find(release_id).release

        def state() -> dict[str, Any]:
            return live_state(self._fresh(release_id, release), ledger.now()).to_dict()

        self._stream("release", state, head=head)

    def _release(self, release_id: str, document: str | None, *, head: bool) -> None:
        known = self.server.snapshot.find(release_id)
        if known is None:
            raise NotFound(release_id)

        def page(now: datetime) -> str:
            view = self._fresh(release_id, known.release)
            found = render_release(view, now) if document is None else render_document(view, document)
            if found is None:
                raise NotFound(document)
            return found

        running = any(result.status is PhaseStatus.RUNNING for result in known.phases.values())
        if running:  # its durations move every second
            self._send_html(page(self.server.ledger.now()), head=head)
        else:
            self._send_kept(self.path, {}, page, head=head)

    def _find(self, release_id: str) -> ReleaseView:
        """The release with ledger id ``release_id``, read afresh from the ledger (found by id in the snapshot)."""
        known = self.server.snapshot.find(release_id)
        if known is None:
            raise NotFound(release_id)
        return self._fresh(release_id, known.release)

    def _fresh(self, release_id: str, release: Release) -> ReleaseView:
        history = self.server.ledger.get_release(
            release.service, release.environment, release.version, with_checks=LATEST_ATTEMPTS
        )
        if history is None:
            raise NotFound(release_id)
        return release_view(history)

    # ------------------------------------------------------------------ responses

    def _stream(self, event: str, snapshot: Callable[[], dict[str, Any]], *, head: bool) -> None:
        """Server-sent events: ``snapshot()`` whenever it changes, a comment now and then to keep alive."""
        self._send_headers(HTTPStatus.OK, "text/event-stream; charset=utf-8", None, {"Connection": "close"})
        self.close_connection = True
        if head:
            return
        self.wfile.write(b"retry: 2000\n\n")
        for data in _changes(snapshot, self.server.poll_seconds, self.server.closing):
            chunk = f"event: {event}\ndata: {data}\n\n" if data else ": still here\n\n"
            self.wfile.write(chunk.encode())
            self.wfile.flush()

    def _send_kept(self, path: str, params: dict[str, str], render: Callable[[datetime], str], *, head: bool) -> None:
        """The page of ``render(now)``, reused until the ledger changes or the minute turns."""
        self.server.snapshot.views()  # raises the last load's error; after a pause, waits for a fresh load
        now = self.server.ledger.now()
        key = PageKey.of(path, params, self.server.snapshot.generation, now)
        self._send_body(self.server.pages.page(key, lambda: without_controls(render(now)).encode()), head=head)

    def _send_html(self, page: str, *, head: bool) -> None:
        self._send_body(without_controls(page).encode(), head=head)

    def _send_body(self, body: bytes, *, head: bool) -> None:
        self._send(HTTPStatus.OK, body, "text/html; charset=utf-8", head=head)

    def _send_page(self, status: HTTPStatus, message: str, *, head: bool, extra: dict[str, str] | None = None) -> None:
        body = layout(
            f"{status.value} {status.phrase}",
            f"<h1>{status.value} {esc(status.phrase)}</h1><p>{esc(message)}</p>",
            current="",
        )
        headers = {**(extra or {}), **({"Allow": "GET, HEAD"} if status is HTTPStatus.METHOD_NOT_ALLOWED else {})}
        self.close_connection = True
        self._send(status, body.encode(), "text/html; charset=utf-8", head=head, extra=headers)

    def _send(
        self, status: HTTPStatus, body: bytes, content_type: str, *, head: bool, extra: dict[str, str] | None = None
    ) -> None:
        self._send_headers(status, content_type, len(body), extra or {})
        if not head and body:
            self.wfile.write(body)

    def _send_headers(self, status: HTTPStatus, content_type: str, length: int | None, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for name, value in {**SECURITY_HEADERS, **extra}.items():
            self.send_header(name, value)
        self.end_headers()


def _changes(snapshot: Callable[[], dict[str, Any]], poll_seconds: float, closing: threading.Event) -> Iterator[str]:
    """JSON of ``snapshot()`` each time it differs from the last one sent; ``""`` every 15 s of quiet."""
    last, quiet = None, 0.0
    deadline = time.monotonic() + STREAM_SECONDS
    while not closing.is_set() and time.monotonic() < deadline:
        try:
            data = json.dumps(snapshot(), sort_keys=True)
        except NotFound:
            return
        if data != last:
            last, quiet = data, 0.0
            yield data
        elif quiet >= 15.0:
            quiet = 0.0
            yield ""
        closing.wait(poll_seconds)
        quiet += poll_seconds
