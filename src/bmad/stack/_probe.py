"""Readiness probes for the stack's services (stdlib only: cheap to import, no retries hidden)."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def http_ok(url: str, *, timeout: float = 1.0) -> bool:
    """True when ``GET url`` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http URL built by us)
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError):
        return False


def unix_http_ok(socket_path: str, path: str = "/_ping", *, timeout: float = 1.0) -> bool:
    """True when ``GET path`` over the unix socket answers 2xx."""
    conn = _UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request("GET", path)
        return 200 <= conn.getresponse().status < 300
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def tcp_open(host: str, port: int, *, timeout: float = 0.5) -> bool:
    """True when something accepts a TCP connection on host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def http_post(url: str, *, timeout: float = 10.0) -> tuple[int, str]:
    """POST an empty body; return (status, body). Status 0 means no answer."""
    request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        return 0, str(exc)


def http_json(url: str, *, timeout: float = 5.0) -> Any:
    """GET a JSON document; None when there is no (valid) answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read().decode())
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError):
        return None


def port_free(host: str, port: int, *, grace: float = 1.0) -> bool:
    """True when nothing accepts connections on host:port.

    A server that just died may still hold its socket for a moment: the thread-group leader
    of a multi-threaded program shows as a zombie before its other threads have released
    their files. So an open port is re-checked for ``grace`` seconds before it counts as taken.
    """
    deadline = time.monotonic() + grace
    while tcp_open(host, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
