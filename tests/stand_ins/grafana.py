"""A stand-in for Grafana's HTTP API (Grafana cannot be installed here), with state.

Speaks the parts bmad uses, with Grafana's paths, status codes and JSON shapes:

* ``GET  /api/health``                          (no auth) ``{"database": "ok", "version": ...}``
* ``GET  /api/search?type=dash-db&query=...``    dashboards whose title contains ``query``
* ``POST /api/dashboards/db``                    create/update; 412 on a uid clash without overwrite
* ``GET  /api/dashboards/uid/<uid>``             ``{"dashboard": ..., "meta": ...}`` or 404
* ``GET  /api/datasources``                      the configured data sources
* ``GET  /api/datasources/uid/<uid>/health``     for a Prometheus data source, really queries it
                                                 (``/api/v1/query?query=1+1``) like Grafana does

Every ``/api`` path but health needs ``Authorization: Bearer <token>`` when a token is set
(401 ``{"message": "invalid API key"}`` otherwise). ``requests_seen`` records (method, path).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class GrafanaStandIn:
    def __init__(
        self,
        *,
        token: str | None = None,
        datasources: list[dict[str, Any]] | None = None,
        database: str = "ok",
        version: str = "10.4.0-standin",
    ) -> None:
        self.token = token
        self.database = database
        self.version = version
        self.datasources: list[dict[str, Any]] = [dict(d) for d in datasources or []]
        self.dashboards: dict[str, dict[str, Any]] = {}  # uid -> {"dashboard", "version", "id"}
        self.requests_seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._next_id = 1
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> GrafanaStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                stand_in._handle(self, "GET")

            def do_POST(self) -> None:
                stand_in._handle(self, "POST")

            def do_DELETE(self) -> None:
                stand_in._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GrafanaStandIn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- HTTP -----------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        path = parts.path
        with self._lock:
            self.requests_seen.append((method, path))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if path == "/api/health" and method == "GET":
            status = 200 if self.database == "ok" else 503
            self._send(handler, status, {"commit": "stand-in", "database": self.database, "version": self.version})
            return
        if self.token is not None and handler.headers.get("Authorization") != f"Bearer {self.token}":
            self._send(handler, 401, {"message": "invalid API key"})
            return
        query = parse_qs(parts.query)
        try:
            status, body = self._route(method, path, query, raw)
        except ValueError as exc:
            status, body = 400, {"message": str(exc)}
        self._send(handler, status, body)

    def _route(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
        if method == "GET" and path == "/api/search":
            wanted_type = (query.get("type") or ["dash-db"])[0]
            text = (query.get("query") or [""])[0].lower()
            with self._lock:
                items = [
                    {
                        "id": entry["id"],
                        "uid": uid,
                        "title": entry["dashboard"]["title"],
                        "uri": f"db/{_slug(entry['dashboard']['title'])}",
                        "url": f"/d/{uid}/{_slug(entry['dashboard']['title'])}",
                        "type": "dash-db",
                        "tags": entry["dashboard"].get("tags", []),
                        "isStarred": False,
                    }
                    for uid, entry in sorted(self.dashboards.items())
                    if text in entry["dashboard"]["title"].lower()
                ]
            return 200, items if wanted_type == "dash-db" else []
        if method == "POST" and path == "/api/dashboards/db":
            payload = json.loads(raw or b"{}")
            model = payload.get("dashboard")
            if not isinstance(model, dict) or not model.get("title"):
                return 400, {"message": "Dashboard title cannot be empty", "status": "empty-name"}
            uid = str(model.get("uid") or f"auto{self._next_id}")
            with self._lock:
                existing = self.dashboards.get(uid)
                if existing is not None and not payload.get("overwrite"):
                    return 412, {"message": "A dashboard with the same uid already exists", "status": "name-exists"}
                dash_id = existing["id"] if existing else self._next_id
                if existing is None:
                    self._next_id += 1
                version = (existing["version"] + 1) if existing else 1
                stored = {**model, "uid": uid, "id": dash_id, "version": version}
                self.dashboards[uid] = {"dashboard": stored, "version": version, "id": dash_id}
            slug = _slug(model["title"])
            return 200, {
                "id": dash_id,
                "uid": uid,
                "url": f"/d/{uid}/{slug}",
                "status": "success",
                "version": version,
                "slug": slug,
            }
        match = re.fullmatch(r"/api/dashboards/uid/([^/]+)", path)
        if match and method in ("GET", "DELETE"):
            uid = match.group(1)
            with self._lock:
                entry = self.dashboards.get(uid)
                if entry is None:
                    return 404, {"message": "Dashboard not found"}
                if method == "DELETE":
                    del self.dashboards[uid]
                    return 200, {
                        "title": entry["dashboard"]["title"],
                        "message": "Dashboard deleted",
                        "id": entry["id"],
                    }
            return 200, {
                "dashboard": entry["dashboard"],
                "meta": {"slug": _slug(entry["dashboard"]["title"]), "version": entry["version"]},
            }
        if method == "GET" and path == "/api/datasources":
            return 200, [
                {"id": i + 1, "orgId": 1, "access": "proxy", "isDefault": False, "url": "", **d}
                for i, d in enumerate(self.datasources)
            ]
        match = re.fullmatch(r"/api/datasources/uid/([^/]+)/health", path)
        if match and method == "GET":
            source = next((d for d in self.datasources if d.get("uid") == match.group(1)), None)
            if source is None:
                return 404, {"message": "Data source not found"}
            return self._datasource_health(source)
        return 404, {"message": "Not found"}

    @staticmethod
    def _datasource_health(source: dict[str, Any]) -> tuple[int, Any]:
        if source.get("type") != "prometheus":
            return 200, {"status": "OK", "message": "Data source is working"}
        url = str(source.get("url") or "").rstrip("/") + "/api/v1/query?query=1%2B1"
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                body = json.loads(response.read())
            if body.get("status") == "success":
                return 200, {"status": "OK", "message": "Successfully queried the Prometheus API."}
            return 400, {"status": "ERROR", "message": f"Prometheus answered: {body}"}
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return 400, {"status": "ERROR", "message": f'Post "{url}": {exc}'}

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = json.dumps(body).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
