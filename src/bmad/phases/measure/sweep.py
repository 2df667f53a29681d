"""The load-test sweep: concurrency levels in order, stopping at the first level that breaks the SLO.

Targets are guarded: only the service's own URL (scheme, host and port) or a host listed in
``measure.load_test.allowed_hosts`` (``host`` for any port, ``host:port`` for one) may be hit.
Anything else is refused before a single request is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import field
from urllib.parse import urljoin, urlsplit

from bmad.config.measure import LoadTestConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import UsageError
from bmad.ports.artifacts import LoadTestLevel
from bmad.ports.loadtest import HttpRequest, LevelPlan, LevelResult, LoadGenerator
from bmad.ports.progress import Progress


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return host, port


def request_url(service_url: str | None, spec_url: str) -> str:
    """The absolute URL to load: ``spec_url`` when absolute, else joined to the service URL."""
    if urlsplit(spec_url).scheme:
        return spec_url
    if service_url is None:
        raise UsageError(
            f"load-test URL {spec_url!r} is relative but the service has no URL here",
            hint="set environments.<env>.monitoring.service_url, or an absolute measure.load_test.request.url",
        )
    return urljoin(service_url.rstrip("/") + "/", spec_url.lstrip("/"))


def check_allowed(url: str, *, service_urls: Sequence[str], allowed_hosts: Sequence[str]) -> str | None:
    """None when ``url`` may be load-tested, else the reason it is refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL with a host"
    host, port = _host_port(url)
    if any((host, port) == _host_port(own) for own in service_urls):
        return None
    for entry in allowed_hosts:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry.startswith("["):  # [::1]:8080
            e_host, _, e_port = entry[1:].partition("]")
            e_port = e_port.lstrip(":")
        elif entry.count(":") == 1:
            e_host, _, e_port = entry.partition(":")
        else:
            e_host, e_port = entry, ""
        if e_host == host and (not e_port or e_port == str(port)):
            return None
    own = ", ".join("{}:{}".format(*_host_port(u)) for u in service_urls) or "none configured"
    return (
        f"refusing to load-test {host}:{port}: it is neither the service's own URL ({own}) "
        f"nor listed in measure.load_test.allowed_hosts ({', '.join(allowed_hosts) or 'empty'})"
    )


@datatype
class SweepResult:
    """The load-test sweep's levels, and where and why it stopped early."""

    levels: list[LevelResult] = field(default_factory=list)
    breach: str = ""  # why the sweep stopped early ("" = it ran every level)
    breach_level: int | None = None
    cancelled: bool = False
    not_run: list[int] = field(default_factory=list)

    def curve(self) -> tuple[LoadTestLevel, ...]:
        """The levels as MEASURE stores them (artifact ``load_test``), the breach on the level that broke the SLO."""
        return tuple(
            LoadTestLevel(level, slo_breach=(self.breach or None) if level.concurrency == self.breach_level else None)
            for level in self.levels
        )


def slo_breach(result: LevelResult, config: LoadTestConfig) -> str:
    slo = config.slo
    problems = []
    if result.requests == 0:
        problems.append("no request completed")
    if result.error_rate > slo.max_error_rate:
        problems.append(f"error rate {result.error_rate:.2%} > {slo.max_error_rate:.2%}")
    if slo.max_p95_ms is not None and result.p95_ms > slo.max_p95_ms:
        problems.append(f"p95 {result.p95_ms:.1f} ms > {slo.max_p95_ms:g} ms")
    return "; ".join(problems)


def plan_for(level: int, config: LoadTestConfig) -> LevelPlan:
    duration = config.duration_seconds
    if duration is not None:
        duration = min(duration, config.max_seconds_per_level)
    requests = config.requests_per_level
    if requests is not None:
        requests = min(requests, config.max_requests_per_level)
    elif duration is None:
        requests = config.max_requests_per_level
    hard = min(
        config.max_seconds_per_level, (duration or config.max_seconds_per_level) + config.request_timeout_seconds + 5
    )
    return LevelPlan(
        concurrency=min(level, config.max_concurrency),
        duration_seconds=duration,
        max_requests=requests,
        request_timeout_seconds=config.request_timeout_seconds,
        hard_limit_seconds=hard,
    )


def run_sweep(
    generator: LoadGenerator,
    request: HttpRequest,
    config: LoadTestConfig,
    *,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
) -> SweepResult:
    sweep = SweepResult()
    task = progress.task("load test", total=len(config.levels)) if progress is not None else None
    try:
        for index, level in enumerate(config.levels):
            if cancel is not None and cancel.is_set():
                sweep.cancelled = True
                sweep.not_run = list(config.levels[index:])
                break
            if task is not None:
                task.update(f"load test: {level} concurrent")
            result = generator.run_level(request, plan_for(level, config))
            sweep.levels.append(result)
            if task is not None:
                task.advance()
            breach = slo_breach(result, config)
            if breach:
                sweep.breach = breach
                sweep.breach_level = level
                sweep.not_run = list(config.levels[index + 1 :])
                break
    finally:
        if task is not None:
            task.done()
    return sweep
