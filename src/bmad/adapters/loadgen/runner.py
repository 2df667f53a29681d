"""The built-in load generator: worker processes running :mod:`bmad.adapters.loadgen.engine`.

One Python process saturates one core at a few tens of thousands of requests per second, so
the level's connections are spread over ``workers`` processes (default: the CPU count). The
workers are started once and reused for every level; every level is bounded by its hard
limit, and a worker that does not answer in time is killed.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from bmad.adapters.loadgen.histogram import Histogram
from bmad.core.errors import AdapterError, UsageError
from bmad.core.spans import SpanKind, waiting
from bmad.ports.loadtest import HttpRequest, LevelPlan, LevelResult

SYSTEM = "load generator"
_DRAIN_SECONDS = 2.0
_START_DELAY_NS = 50_000_000  # every worker starts sending at the same instant, this long after the plan is sent


def build_request(request: HttpRequest) -> tuple[str, int, bytes]:
    """Host, port and the exact bytes of the request (HTTP/1.1, keep-alive)."""
    parts = urlsplit(request.url)
    if parts.scheme != "http":
        raise UsageError(
            f"the built-in load generator speaks plain http only, not {parts.scheme or 'no scheme'}: {request.url}",
            hint="use measure.load_test.runner: locust (or k6) for https targets",
        )
    if not parts.hostname:
        raise UsageError(f"load-test URL has no host: {request.url}")
    port = parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host_header = parts.netloc.rsplit("@", 1)[-1]
    lines = [f"{request.method} {path} HTTP/1.1", f"Host: {host_header}"]
    given = {k.lower() for k in request.headers}
    if "user-agent" not in given:
        lines.append("User-Agent: bmad-loadgen")
    if "accept" not in given:
        lines.append("Accept: */*")
    for key, value in request.headers.items():
        if "\r" in key or "\n" in key or "\r" in value or "\n" in value:
            raise UsageError(f"load-test header {key!r} contains a line break")
        if key.lower() in ("content-length", "connection", "host"):
            continue
        lines.append(f"{key}: {value}")
    body = request.body or b""
    if body or request.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return parts.hostname, port, head + body


class BuiltinLoadGenerator:
    name = "builtin"

    def __init__(self, *, workers: int | None = None) -> None:
        self.workers = workers  # None: decided per level by default_workers()
        self._procs: list[subprocess.Popen[str]] = []

    @staticmethod
    def default_workers(hosts: list[str]) -> int:
        """One worker per CPU; half the CPUs when every target is on this machine (loopback), which
        then needs the other half to answer — measured here: on 2 cores against a local nginx, one
        worker gave more requests/s than two."""
        cpus = os.cpu_count() or 1
        if all(_loopback(host) for host in hosts):
            return max(1, cpus // 2)
        return cpus

    # -- workers ------------------------------------------------------------------------------
    def _ensure_workers(self, count: int) -> list[subprocess.Popen[str]]:
        src = str(Path(__file__).resolve().parents[3])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}
        while len(self._procs) < count:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bmad.adapters.loadgen.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                start_new_session=True,
            )
            self._procs.append(proc)
        return self._procs[:count]

    def close(self) -> None:
        for proc in self._procs:
            try:
                if proc.poll() is None and proc.stdin is not None:
                    proc.stdin.write(json.dumps({"op": "exit"}) + "\n")
                    proc.stdin.flush()
                    proc.stdin.close()
            except OSError:
                pass
        for proc in self._procs:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=2)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        self._procs = []

    def __enter__(self) -> BuiltinLoadGenerator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- one level ----------------------------------------------------------------------------
    def run_level(self, request: HttpRequest, plan: LevelPlan) -> LevelResult:
        targets = []
        for url in request.urls:
            host, port, raw = build_request(dataclasses.replace(request, url=url, replicas=()))
            targets.append({"host": host, "port": port, "request": base64.b64encode(raw).decode("ascii")})
        chosen = self.workers or self.default_workers([str(t["host"]) for t in targets])
        workers = max(1, min(chosen, plan.concurrency))
        procs = self._ensure_workers(workers)
        now = time.monotonic_ns()
        start_at = now + _START_DELAY_NS
        hard_stop = start_at + int(plan.hard_limit_seconds * 1e9)
        deadline = start_at + int(plan.duration_seconds * 1e9) if plan.duration_seconds is not None else None
        if deadline is not None:
            deadline = min(deadline, hard_stop)
        for index, proc in enumerate(procs):
            worker_plan = {
                "targets": targets,
                # Each worker starts its round-robin where the previous one's connections ended.
                "target_offset": sum(_share(plan.concurrency, workers, i) for i in range(index)),
                "connections": _share(plan.concurrency, workers, index),
                "start_at_ns": start_at,
                "deadline_ns": deadline,
                "max_requests": _share(plan.max_requests, workers, index) if plan.max_requests else None,
                "timeout_ns": int(plan.request_timeout_seconds * 1e9),
                "drain_ns": int(min(_DRAIN_SECONDS, plan.request_timeout_seconds) * 1e9),
                "hard_stop_ns": hard_stop,
                "head": request.method == "HEAD",
            }
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(worker_plan) + "\n")
                proc.stdin.flush()
            except OSError as exc:
                self.close()
                raise AdapterError(SYSTEM, "starting a worker", str(exc)) from None
        with waiting(SpanKind.SERVICE, f"load test, {plan.concurrency} connection(s)"):
            results = self._collect(procs, wait_until_ns=hard_stop + 10_000_000_000)
        return merge_results(results, concurrency=plan.concurrency)

    def _collect(self, procs: list[subprocess.Popen[str]], *, wait_until_ns: int) -> list[dict[str, Any]]:
        results: dict[int, dict[str, Any]] = {}
        selector = selectors.DefaultSelector()
        streams: dict[IO[str], int] = {}
        for index, proc in enumerate(procs):
            assert proc.stdout is not None
            streams[proc.stdout] = index
            selector.register(proc.stdout, selectors.EVENT_READ)
        try:
            while len(results) < len(procs):
                left = (wait_until_ns - time.monotonic_ns()) / 1e9
                if left <= 0:
                    self._kill()
                    raise AdapterError(SYSTEM, "waiting for workers", "a worker overran the level's hard limit")
                for key, _ in selector.select(timeout=left):
                    stream: Any = key.fileobj
                    line = stream.readline()
                    index = streams[stream]
                    selector.unregister(stream)
                    if not line:
                        err_stream = procs[index].stderr
                        err = err_stream.read() if err_stream is not None else ""
                        self._kill()
                        raise AdapterError(SYSTEM, "running a worker", f"worker exited: {err[-300:]}")
                    data = json.loads(line)
                    if "fatal" in data:
                        self._kill()
                        raise AdapterError(SYSTEM, "running a worker", str(data["fatal"]))
                    results[index] = data
        finally:
            selector.close()
        return [results[i] for i in sorted(results)]

    def _kill(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=5)
        self._procs = []


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _share(total: int | None, parts: int, index: int) -> int:
    assert total is not None
    return total // parts + (1 if index < total % parts else 0)


def merge_results(results: list[dict[str, Any]], *, concurrency: int, runner: str = "builtin") -> LevelResult:
    hist = Histogram()
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    answers = 0
    for data in results:
        hist.add_counts(
            {int(k): int(v) for k, v in data["counts"].items()},
            total=int(data["lat_total_us"]),
            minimum=int(data["lat_min_us"]),
            maximum=int(data["lat_max_us"]),
        )
        answers += int(data["completed"])
        for code, n in data["statuses"].items():
            statuses[code] = statuses.get(code, 0) + int(n)
        for kind, n in data["errors"].items():
            errors[kind] = errors.get(kind, 0) + int(n)
    start = min((int(d["start_ns"]) for d in results), default=0)
    end = max((int(d["end_ns"]) for d in results), default=0)
    duration = max((end - start) / 1e9, 1e-9)
    succeeded = sum(n for code, n in statuses.items() if code[:1] in ("1", "2", "3"))
    for code, n in statuses.items():
        if code[:1] not in ("1", "2", "3"):
            errors[f"http_{code}"] = errors.get(f"http_{code}", 0) + n
    transport_failures = sum(n for kind, n in errors.items() if not kind.startswith("http_"))
    requests = answers + transport_failures
    failed = requests - succeeded
    return LevelResult(
        concurrency=concurrency,
        requests=requests,
        succeeded=succeeded,
        failed=failed,
        success_rate=succeeded / requests if requests else 0.0,
        error_rate=failed / requests if requests else 0.0,
        rps=answers / duration,
        duration_seconds=round(duration, 3),
        p50_ms=hist.percentile(50) / 1000,
        p95_ms=hist.percentile(95) / 1000,
        p99_ms=hist.percentile(99) / 1000,
        max_ms=hist.max / 1000,
        mean_ms=round(hist.mean / 1000, 3),
        min_ms=hist.min / 1000,
        errors=dict(sorted(errors.items())),
        statuses=dict(sorted(statuses.items())),
        runner=runner,
    )
