"""kube-proxy for ``NodePort`` Services on the one node address the host has, 127.0.0.1 ("Service",
type NodePort: https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport):
every ``spec.ports[].nodePort`` of such a Service listens on 127.0.0.1 and passes each HTTP request
on to a ready endpoint (a ready pod the selector matches, running as a real process), taking the
endpoints in turn. Not-ready and terminating pods are never endpoints (EndpointSlice ``ready``), so
a request is only retried on another endpoint when the chosen one refuses the connection in the
moment between leaving the endpoints and its process stopping. No endpoint: the connection is
refused, as kube-proxy's REJECT rule does for a Service without endpoints.

The node port range (``--service-node-port-range``, 30000-32767) is not enforced, so tests can
take free ports below the ephemeral range."""

from __future__ import annotations

import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .. import selection
from .base import Controller
from .replicasets import is_ready

Obj = dict[str, Any]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class _Listener(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, endpoints: Any) -> None:
        super().__init__(("127.0.0.1", port), _Forward)
        self.endpoints = endpoints
        self.turn = itertools.count()


class _Forward(BaseHTTPRequestHandler):
    server: _Listener
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")

    def do_HEAD(self) -> None:
        self._forward("HEAD")

    def _forward(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        ports = self.server.endpoints()
        start = next(self.server.turn)
        for n in range(len(ports)):
            port = ports[(start + n) % len(ports)]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                connection.request(method, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
            except ConnectionRefusedError:
                continue
            finally:
                connection.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(data)
            return
        self.close_connection = True  # no endpoint answered: the connection is dropped


class NodePortProxy(Controller):
    """Opens a listener per node port of every NodePort Service, closes those no Service has."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.listeners: dict[int, tuple[str, str, _Listener]] = {}

    def reconcile(self) -> None:
        wanted: dict[int, tuple[str, str]] = {}
        for service in self.list("", "services"):
            spec = service.get("spec") or {}
            if spec.get("type") != "NodePort":
                continue
            for port in spec.get("ports") or []:
                if port.get("nodePort"):
                    wanted[int(port["nodePort"])] = (service["metadata"]["namespace"], service["metadata"]["name"])
        for port in [p for p, (ns, name, _) in self.listeners.items() if wanted.get(p) != (ns, name)]:
            listener = self.listeners.pop(port)[2]
            listener.shutdown()
            listener.server_close()
        for port, (namespace, name) in wanted.items():
            if port not in self.listeners:
                self._listen(port, namespace, name)

    def _listen(self, port: int, namespace: str, name: str) -> None:
        try:
            listener = _Listener(port, lambda: self.endpoints(namespace, name))
        except OSError:  # taken by something else: kube-proxy logs it and keeps going
            return
        threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        self.listeners[port] = (namespace, name, listener)

    def endpoints(self, namespace: str, name: str) -> list[int]:
        service = next((s for s in self.list("", "services", namespace) if s["metadata"]["name"] == name), None)
        if service is None:
            return []
        selector = {"matchLabels": (service.get("spec") or {}).get("selector") or {}}
        pods = [
            p
            for p in self.list("", "pods", namespace)
            if selection.matches_labels(selector, p["metadata"].get("labels") or {})
            and is_ready(p)
            and not p["metadata"].get("deletionTimestamp")
        ]
        return [port for p in pods for port in self.runtime.processes.ports_of(p["metadata"]["uid"])]

    def stop(self) -> None:
        for _, _, listener in self.listeners.values():
            listener.shutdown()
            listener.server_close()
        self.listeners.clear()
