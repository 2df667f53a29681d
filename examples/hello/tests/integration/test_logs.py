"""The service logs one JSON object per line on stdout, each request with its request id."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

from conftest import APP, get


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _hello_logging_requests() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """hello with its access log on, ready: (the process, its URL); stopped with SIGTERM on leaving."""
    port = _free_port()
    env = {**os.environ, "HELLO_HOST": "127.0.0.1", "HELLO_PORT": str(port), "HELLO_ACCESS_LOG": "1"}
    env.pop("HELLO_FAULT", None)
    proc = subprocess.Popen([sys.executable, str(APP)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while get(url + "/ready", timeout=1)[0] != 200:
            assert proc.poll() is None and time.monotonic() < deadline, "hello did not start"
            time.sleep(0.02)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_logs_are_json_lines_with_a_request_id() -> None:
    with _hello_logging_requests() as (proc, url):
        request = urllib.request.Request(url + "/", headers={"X-Request-Id": "trace-42"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert err.decode().strip() == ""
    events = [r["event"] for r in records]
    assert events[0] == "listening" and events[-1] == "stopped"
    requests = [r for r in records if r["event"] == "request"]
    assert {"request_id": "trace-42", "path": "/", "code": 200} in [
        {k: r[k] for k in ("request_id", "path", "code")} for r in requests
    ]
    assert all(r["request_id"] and r["level"] == "info" and r["ts"].endswith("Z") for r in requests)


def test_a_request_is_in_the_log_when_its_answer_arrives() -> None:
    """The line is written before the answer leaves: a client (or a SIGTERM sent on receipt) never outruns it."""
    with _hello_logging_requests() as (proc, url):
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        os.set_blocking(fd, False)
        seen = b""
        connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)  # kept alive: no pause
        for n in range(300):
            connection.request("GET", "/", headers={"X-Request-Id": f"r-{n}"})
            connection.getresponse().read()
            while select.select([fd], [], [], 0)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                seen += chunk
            assert f'"request_id":"r-{n}"'.encode() in seen, f"request {n} answered before it was logged"
        connection.close()
