"""HTTPS, routing, request bodies, answers and watch streams.

* HTTPS only, HTTP/1.1 (a real API server also speaks HTTP/2; client-go falls back to 1.1 when
  ALPN offers nothing else).
* Bearer tokens authenticate (401 otherwise); warnings go out as ``Warning: 299 - "<text>"``
  headers (https://kubernetes.io/blog/2020/09/03/warnings/).
* Watch ("API Concepts", Efficient detection of changes): a chunked stream of newline-separated
  JSON events ``{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}``; without a
  resourceVersion (or with "0") it starts with ADDED for every current object; a version older
  than the kept history is answered by an ``ERROR`` event with a 410 ``Expired`` Status, after the
  200, as the watch cache does (apiserver/pkg/storage/cacher: newErrWatcher); with
  ``allowWatchBookmarks`` BOOKMARK events carry the current resourceVersion.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import authz, discovery, protobuf, tables
from .audit import AuditEntry, AuditLog
from .errors import ApiError
from .faults import DropConnection, Faults
from .resources import ResourceType
from .rest import Api, Reply, Request, parse_body
from .storage import Event

Obj = dict[str, Any]
ControlHandler = Callable[[str, str, Any], Reply]
_RESOURCE_PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))(?P<rest>/.*)?$")


class ApiServer(ThreadingHTTPServer):
    """The listening server and what its handlers share."""

    daemon_threads = True

    def __init__(self, port: int, api: Api, identities: list[authz.Identity], faults: Faults) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.api, self.faults = api, faults
        self.tokens = {i.token: i for i in identities}
        self.control: ControlHandler | None = None
        self.audit = AuditLog()
        self.stopping = threading.Event()
        self.bookmark_interval = 1.0

    def use_tls(self, cert_file: str, key_file: str) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)


@dataclass(frozen=True)
class ResourcePath:
    """A resource path's parts; ``tail`` is what follows ``.../proxy/``."""

    rt: ResourceType
    namespace: str
    name: str
    subresource: str
    tail: str


def split_resource_path(api: Api, path: str) -> ResourcePath | None:
    """The parts of a resource path, None for other paths."""
    match = _RESOURCE_PATH.match(path)
    if not match or not match.group("rest") or match.group("rest") == "/":
        return None
    group, version = ("", "v1") if match.group("core") else (match.group("group"), match.group("version"))
    parts = [p for p in match.group("rest").split("/") if p]
    namespace = ""
    if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] not in ("status", "finalize"):
        namespace, parts = parts[1], parts[2:]
    rt = api.registry.find(group, version, parts[0])
    if rt is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    name = parts[1].split(":")[0] if len(parts) > 1 else ""  # "web:8080" names a port (proxy)
    sub = parts[2] if len(parts) > 2 else ""
    return ResourcePath(rt, namespace, name, sub, "/".join(parts[3:]))


class Handler(BaseHTTPRequestHandler):
    """One connection; every method goes through ``_serve``."""

    protocol_version = "HTTP/1.1"
    server: ApiServer

    def setup(self) -> None:
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            reply = self._route(method, url.path, query, raw)
        except DropConnection:
            self.close_connection = True
            return
        except ApiError as exc:
            reply = Reply(exc.code, exc.status_body(), retry_after=exc.retry_after)
        if not url.path.startswith("/_standin/"):
            self._audit(method, reply.code)
        if reply.watch is not None:
            self._stream(reply.watch)
        else:
            self._send(reply)

    def _audit(self, method: str, code: int) -> None:
        header = self.headers.get("Authorization", "")
        identity = self.server.tokens.get(header[7:].strip()) if header.startswith("Bearer ") else None
        content_type = self.headers.get("Content-Type", "")
        user = identity.context if identity else "system:anonymous"
        self.server.audit.record(AuditEntry(method, self.path, content_type, user, code))

    def _identity(self) -> authz.Identity:
        header = self.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else ""
        identity = self.server.tokens.get(token)
        if identity is None:
            raise authz.unauthorized()
        return identity

    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Reply:
        content_type = self.headers.get("Content-Type", "application/json")
        if path.startswith("/_standin/") and self.server.control is not None:
            if self._identity().context != "admin":
                raise ApiError(403, "Forbidden", "the stand-in's control API is for the admin identity")
            return self.server.control(method, path, parse_body(raw, content_type))
        self.server.faults.check(method, self.path)
        identity = self._identity()
        accept = self.headers.get("Accept", "")
        if path.rstrip("/") in ("/api", "/apis") and discovery.wants_aggregated(accept):
            body = discovery.aggregated(self.server.api.registry, core=path.rstrip("/") == "/api")
            return Reply(200, body, content_type=discovery.AGGREGATED)
        found = _non_resource(self.server.api, path)
        if found is not None:
            return Reply(200, found)
        parsed = split_resource_path(self.server.api, path)
        if parsed is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        rt = parsed.rt
        is_protobuf = "protobuf" in content_type and raw
        body = protobuf.decode(raw, rt.plural) if is_protobuf else parse_body(raw, content_type)
        request = Request(
            method,
            rt,
            parsed.namespace,
            parsed.name,
            parsed.subresource,
            query,
            body,
            content_type,
            self.headers.get("Accept", ""),
            identity,
            self.headers.get("User-Agent", ""),
            parsed.tail,
        )
        return self.server.api.handle(request)

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, (str, bytes)):
            data = reply.body.encode() if isinstance(reply.body, str) else reply.body
            content_type = reply.content_type
        else:
            data, content_type = json.dumps(reply.body).encode(), reply.content_type
        self.send_response(reply.code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        if reply.retry_after:
            self.send_header("Retry-After", str(reply.retry_after))
        for warning in reply.warnings:
            self.send_header("Warning", '299 - "' + warning.replace('"', '\\"') + '"')
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, event: Obj) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _stream(self, req: Request) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            WatchStream(self.server, req, self._chunk).run()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True


def _non_resource(api: Api, path: str) -> Obj | None:
    path = path.rstrip("/") or "/"
    if path in ("/healthz", "/readyz", "/livez"):
        return {"status": "ok"}
    if path == "/version":
        return discovery.VERSION
    if path == "/api":
        return discovery.api_versions()
    if path == "/apis":
        return discovery.api_group_list(api.registry)
    if path == "/openapi/v3":
        return discovery.openapi_root(api.registry)
    if path.startswith("/openapi/v3/"):
        gv = path[len("/openapi/v3/") :].split("/")
        group, version = ("", gv[1]) if gv[0] == "api" else (gv[1], gv[2]) if len(gv) > 2 else ("?", "?")
        return discovery.openapi_document(api.registry, group, version) or _missing()
    if path == "/api/v1":
        return discovery.resource_list(api.registry, "", "v1")
    parts = path.split("/")
    if len(parts) == 3 and parts[1] == "apis":
        return discovery.api_group(api.registry, parts[2]) or _missing()
    if len(parts) == 4 and parts[1] == "apis":
        return discovery.resource_list(api.registry, parts[2], parts[3]) or _missing()
    if path == "/openapi/v2":
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return None


def _missing() -> Obj:
    raise ApiError(404, "NotFound", "the server could not find the requested resource")


class WatchStream:
    """Sends the events of one watch request until its timeout or the server stops."""

    def __init__(self, server: ApiServer, req: Request, send: Callable[[Obj], None]) -> None:
        self.server, self.req, self.send = server, req, send
        self.as_table = tables.wants_table(req.accept)
        self.columns_sent = False
        items, self.tests = server.api.matching(req)[0], self._tests(server.api, req)
        self.initial = items
        self.rv = 0

    @staticmethod
    def _tests(api: Api, req: Request) -> list[Callable[[Obj], bool]]:
        tests = api.filters(req)
        if req.name:
            tests.append(lambda o: o["metadata"].get("name") == req.name)
        return tests

    def _object(self, obj: Obj) -> Obj:
        if not self.as_table:
            return obj
        out = tables.table(self.req.rt.kind, [obj], obj["metadata"].get("resourceVersion", ""), not self.columns_sent)
        self.columns_sent = True
        return out

    def _bookmark(self, initial_end: bool = False) -> None:
        meta: Obj = {"resourceVersion": str(self.rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self.req.rt.kind, "apiVersion": self.req.rt.api_version, "metadata": meta}
        self.send({"type": "BOOKMARK", "object": obj})

    def run(self) -> None:
        query, store = self.req.query, self.server.api.store
        start = query.get("resourceVersion", "")
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        if start in ("", "0") or query.get("sendInitialEvents") == "true":
            self.rv = store.rv
            for obj in self.initial:
                self.send({"type": "ADDED", "object": self._object(obj)})
            if query.get("sendInitialEvents") == "true":
                self._bookmark(initial_end=True)
        else:
            self.rv = int(start)
        self._follow(float(query.get("timeoutSeconds") or 1800), bookmarks)

    def _follow(self, timeout: float, bookmarks: bool) -> None:
        store = self.server.api.store
        deadline, last_bookmark = time.monotonic() + timeout, time.monotonic()
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            events = store.events_after(self.rv)
            if events is None:
                self._expired(store.compacted_rv)
                return
            for event in events:
                self._event(event)
            if bookmarks and time.monotonic() - last_bookmark >= self.server.bookmark_interval:
                self.rv = max(self.rv, store.rv)
                self._bookmark()
                last_bookmark = time.monotonic()
            store.wait(self.rv, timeout=min(0.5, max(0.0, deadline - time.monotonic())))
        if bookmarks and not self.server.stopping.is_set():
            self.rv = max(self.rv, store.rv)
            self._bookmark()  # a last bookmark before the timeout ends the watch (KEP-956)

    def _event(self, event: Event) -> None:
        self.rv = event.rv
        key, req = event.key, self.req
        if (key.group, key.plural) != (req.rt.group, req.rt.plural):
            return
        if req.rt.namespaced and req.namespace and key.namespace != req.namespace:
            return
        if all(test(event.obj) for test in self.tests):
            self.send({"type": event.type, "object": self._object(event.obj)})

    def _expired(self, oldest: int) -> None:
        message = f"too old resource version: {self.rv} ({oldest})"
        status = ApiError(410, "Expired", message).status_body()
        self.send({"type": "ERROR", "object": status})
