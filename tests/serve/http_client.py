"""A plain HTTP client for the dashboard's tests: any method, any header, the raw answer."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def call(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        path = parts.path or "/"
        conn.request(method, path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        response = conn.getresponse()
        body = response.read().decode("utf-8")
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


def get_ok(url: str) -> str:
    answer = call(url)
    assert answer.status == 200, (url, answer.status, answer.body[:500])
    assert answer.headers["content-type"].startswith("text/html")
    return answer.body
