"""Small helpers shared by the tests (import as ``from tests.helpers import free_port``, or ``from helpers``)."""

from __future__ import annotations

import contextlib
import copy
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
HELLO_DIR = EXAMPLES / "hello"
HELLO_APP = HELLO_DIR / "app" / "hello.py"

T = TypeVar("T")

_handed_out: set[int] = set()
_random = random.Random()


def in_ci() -> bool:
    """True under CI (env CI=true/1): there a missing component fails a test instead of skipping it."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (never the same one twice per process).

    Taken from 11000-17999, below the kernel's ephemeral range (32768+ here) and clear of the ports
    the example and the demo use by default (18080+, 20000+): a port handed out from the ephemeral
    range can be grabbed by any outgoing connection before the server that was meant to get it
    binds it (seen: a stand-in pod crash-looping on "Address already in use").
    """
    for _ in range(500):
        port = _random.randrange(11000, 18000)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port found in 11000-17999")


def free_port_block(size: int) -> int:
    """The first of ``size`` consecutive free ports, all below the ephemeral range (see :func:`free_port`)."""
    for _ in range(50):
        base = free_port()
        if all(_bindable(port) for port in range(base, base + size)):
            _handed_out.update(range(base, base + size))
            return base
    raise RuntimeError("no block of free ports in 11000-17999")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def interruptible() -> None:
    """``preexec_fn`` of a child that a test stops with SIGINT: Ctrl-C's default action, as at a terminal.

    A shell that starts the test run as a background job without job control (``bash .ci/run &``)
    makes its children ignore SIGINT, and Python then installs no KeyboardInterrupt handler: a
    Ctrl-C test would wait for a process that never sees the signal.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(
    predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"
) -> T:
    """Poll ``predicate`` until it returns a truthy value; return it. Raise TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met after {timeout:.1f}s")
        time.sleep(interval)
        last = predicate()
    return last


def http_get(url: str, *, timeout: float = 5.0) -> tuple[int, str]:
    """GET ``url``: (status, body). Status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


ODD_VALUES: list[Any] = [None, 0, 1.5, "x", "", [], {}, True, [1], {"a": 1}]


def places(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a JSON-like value, the value itself (``()``) first."""
    yield at
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from places(inner, (*at, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from places(inner, (*at, index))


def misshapen(answer: Any, rnd: random.Random) -> Any:
    """A copy of a JSON answer with one part replaced by a value of another type, or (in an object) removed:
    what a look-alike server, a proxy or another version of a tool may give a reader."""
    changed = copy.deepcopy(answer)
    place = rnd.choice(list(places(changed))[1:])
    parent = changed
    for step in place[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and rnd.random() < 0.3:
        del parent[place[-1]]
    else:
        parent[place[-1]] = rnd.choice(ODD_VALUES)
    return changed


@contextlib.contextmanager
def serve_handler(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free local port in a thread until the block ends. Yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serving(body: bytes, content_type: str, status: int = 200) -> Iterator[str]:
    """A local HTTP server that answers every GET and POST with ``body``: what a proxy, a sign-in
    gateway or a look-alike server may send where an API was expected. Yields its base URL."""

    class Answer(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve_handler(Answer) as url:
        yield url


@contextlib.contextmanager
def run_hello(
    *, port: int | None = None, env: Mapping[str, str] | None = None, wait: bool = True
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the example service (examples/hello) as a local process; yield (base URL, process).

    ``env`` adds e.g. ``HELLO_FAULT`` or ``HELLO_VERSION``. With ``wait`` the URL answers
    /ready before the block runs. The process is stopped (SIGTERM, then SIGKILL) at the end.
    """
    port = port or free_port()
    full_env = {**os.environ, "HELLO_HOST": "127.0.0.1", "HELLO_PORT": str(port), **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, str(HELLO_APP)],
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if wait:
            deadline = time.monotonic() + 10
            while http_get(url + "/ready", timeout=1)[0] != 200:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                    raise RuntimeError(f"hello did not start (exit {proc.poll()}): {err}")
                time.sleep(0.02)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()


class WalkCounter(Mapping[str, Any]):
    """A mapping that counts how often its items are walked (to prove a value is serialised once)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data, self.walks = data, 0

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        self.walks += 1
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
