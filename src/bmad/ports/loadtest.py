"""Generating HTTP load: one concurrency level at a time (the MEASURE sweep drives the levels)."""

from __future__ import annotations

from dataclasses import asdict, field
from typing import Any, Protocol

from bmad.core.datatypes import datatype


@datatype(frozen=True)
class HttpRequest:
    """What every virtual user sends, over and over."""

    method: str
    url: str  # absolute http:// URL
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    # The same request at further replicas of the service (same path): connections are spread over
    # ``url`` and these. Runners that cannot spread (locust, k6) load ``url`` only.
    replicas: tuple[str, ...] = ()

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.replicas)


@datatype(frozen=True)
class LevelPlan:
    concurrency: int  # concurrent connections (virtual users), each with one request in flight
    duration_seconds: float | None  # stop sending after this long ...
    max_requests: int | None  # ... or after this many requests, whichever comes first
    request_timeout_seconds: float = 10.0
    hard_limit_seconds: float = 300.0  # the level ends by then, whatever happens


@datatype(frozen=True)
class LevelResult:
    """The figures of one level. Latencies cover every answer received (any status), in milliseconds.

    ``requests`` = answers + requests that got no answer (connect errors, resets, timeouts);
    ``succeeded`` = answers with a status below 400; ``rps`` = answers per second of level time.
    ``errors`` counts failures by kind (``http_503``, ``timeout``, ``connect_econnrefused`` ...).
    """

    concurrency: int
    requests: int
    succeeded: int
    failed: int
    success_rate: float
    error_rate: float
    rps: float
    duration_seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    min_ms: float
    errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    runner: str = "builtin"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LoadGenerator(Protocol):
    name: str

    def run_level(self, request: HttpRequest, plan: LevelPlan) -> LevelResult: ...

    def close(self) -> None:
        """Release workers/processes; the generator may not be used afterwards."""
        ...
