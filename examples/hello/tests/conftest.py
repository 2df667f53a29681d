"""Fixtures of the hello suites: the URL under test (HELLO_URL, else a local process)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app" / "hello.py"


def get(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], str]:
    """GET ``url``: (status, headers, body); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()
    except (urllib.error.URLError, OSError):
        return 0, {}, ""


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Samples of a Prometheus text exposition: (name, labels, value)."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a valid sample line: {line!r}"
        labels = dict(_LABEL.findall(match.group(3) or ""))
        samples.append((match.group(1), labels, float(match.group(4))))
    return samples


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    url = os.environ.get("HELLO_URL", "").rstrip("/")
    if url:
        yield url
        return
    port = _free_port()
    env = {**os.environ, "HELLO_HOST": "127.0.0.1", "HELLO_PORT": str(port)}
    env.setdefault("HELLO_VERSION", "0.0.0-test")
    proc = subprocess.Popen([sys.executable, str(APP)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while get(url + "/ready", timeout=1)[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"hello did not start (exit code {proc.poll()})")
            time.sleep(0.02)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
