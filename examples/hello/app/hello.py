"""hello: the example service bmad takes to production (Python standard library only).

Endpoints (port 8080 by default):
  GET /         JSON greeting with the version and the instance name
  GET /health   200 "ok" (503 "unhealthy" when the fault switch says so)
  GET /ready    200 "ready" once the server accepts requests
  GET /metrics  Prometheus text format 0.0.4

Environment:
  HELLO_HOST, HELLO_PORT     where to listen (default 0.0.0.0:8080)
  HELLO_VERSION              version reported in / and hello_build_info (default: 0.0.0-dev)
  HELLO_MESSAGE              greeting (default "hello")
  HELLO_FAULT                crash | unhealthy | errors | slow  (a release that misbehaves, to exercise rollback)
  HELLO_ERROR_RATE           share of "/" answering 500 under HELLO_FAULT=errors (default 0.5)
  HELLO_ERRORS_AFTER         under HELLO_FAULT=errors, the first N requests to "/" answer normally (default 0):
                             a regression that only shows under sustained traffic, past the smoke tests
  HELLO_SLOW_MS              latency added to every request under HELLO_FAULT=slow (default 300)
  HELLO_ACCESS_LOG           1 to log every request (one JSON line per request, with its request id)

Logs: one JSON object per line on stdout, errors on stderr (``ts``, ``level``, ``event``, ...). A request's id is the
``X-Request-Id`` it came with, else a new one; it is echoed in the answer's ``X-Request-Id``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("crash", "unhealthy", "errors", "slow")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KNOWN_PATHS = ("/", "/health", "/ready", "/metrics")


def _image_version() -> str | None:
    """The version the image was built with (``/app/VERSION``, written by the Containerfile)."""
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSION"), encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


class Settings:
    def __init__(self, env: dict[str, str]) -> None:
        self.host = env.get("HELLO_HOST", "0.0.0.0")
        self.port = int(env.get("HELLO_PORT", "8080"))
        self.version = env.get("HELLO_VERSION") or _image_version() or "0.0.0-dev"
        self.message = env.get("HELLO_MESSAGE", "hello")
        fault = env.get("HELLO_FAULT", "").strip().lower()
        if fault and fault not in FAULTS:
            raise ValueError(f"HELLO_FAULT={fault!r} is not one of {', '.join(FAULTS)}")
        self.fault = fault or None
        self.error_rate = float(env.get("HELLO_ERROR_RATE", "0.5"))
        self.errors_after = int(env.get("HELLO_ERRORS_AFTER", "0"))
        self.slow_seconds = float(env.get("HELLO_SLOW_MS", "300")) / 1000.0
        self.access_log = env.get("HELLO_ACCESS_LOG", "") == "1"


class Metrics:
    """Counters and one histogram, rendered by hand in the Prometheus text format."""

    def __init__(self, version: str) -> None:
        self._lock = threading.Lock()
        self.version = version
        self.requests: dict[tuple[str, str, str], int] = {}
        self.bucket_counts = [0] * len(BUCKETS)
        self.duration_sum = 0.0
        self.duration_count = 0
        self.started = time.time()

    def observe(self, method: str, path: str, code: int, seconds: float) -> None:
        key = (method, path, str(code))
        with self._lock:
            self.requests[key] = self.requests.get(key, 0) + 1
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.bucket_counts[i] += 1
            self.duration_sum += seconds
            self.duration_count += 1

    def render(self) -> str:
        with self._lock:
            requests = sorted(self.requests.items())
            buckets = list(self.bucket_counts)
            total, count = self.duration_sum, self.duration_count
        out = [
            "# HELP http_requests_total Requests answered, by method, path and status code.",
            "# TYPE http_requests_total counter",
        ]
        for (method, path, code), value in requests:
            out.append(f'http_requests_total{{method="{method}",path="{_escape(path)}",code="{code}"}} {value}')
        out += [
            "# HELP http_request_duration_seconds Time to answer a request.",
            "# TYPE http_request_duration_seconds histogram",
        ]
        for bound, value in zip(BUCKETS, buckets, strict=True):
            out.append(f'http_request_duration_seconds_bucket{{le="{_float(bound)}"}} {value}')
        out.append(f'http_request_duration_seconds_bucket{{le="+Inf"}} {count}')
        out.append(f"http_request_duration_seconds_sum {_float(total)}")
        out.append(f"http_request_duration_seconds_count {count}")
        cpu = os.times()
        out += [
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
            "# TYPE process_cpu_seconds_total counter",
            f"process_cpu_seconds_total {_float(cpu.user + cpu.system)}",
            "# HELP process_resident_memory_bytes Resident memory size in bytes.",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {_resident_bytes()}",
            "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {_float(self.started)}",
            "# HELP hello_build_info The running version of hello.",
            "# TYPE hello_build_info gauge",
            f'hello_build_info{{version="{_escape(self.version)}"}} 1',
        ]
        return "\n".join(out) + "\n"


def log(event: str, level: str = "info", **fields: object) -> None:
    """One structured log line (JSON): on stdout, errors on stderr."""
    record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": level, "event": event, **fields}
    stream = sys.stderr if level == "error" else sys.stdout
    stream.write(json.dumps(record, separators=(",", ":")) + "\n")
    stream.flush()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _float(value: float) -> str:
    return repr(float(value))


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class Counter:
    """A thread-safe running count (requests to "/" so far, for HELLO_ERRORS_AFTER)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def next(self) -> int:
        with self._lock:
            self._value += 1
            return self._value


def make_handler(settings: Settings, metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    instance = socket.gethostname()
    roots = Counter()

    class Handler(BaseHTTPRequestHandler):
        server_version = "hello"
        sys_version = ""
        protocol_version = "HTTP/1.1"
        # Headers and body go out as separate writes: without this, small answers on a kept-alive
        # connection wait for the client's delayed ACK (~40 ms each).
        disable_nagle_algorithm = True
        request_id = ""

        def do_GET(self) -> None:
            started = time.perf_counter()
            incoming = (self.headers.get("X-Request-Id") or "").strip()
            self.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
            path = self.path.split("?", 1)[0]
            label = path if path in KNOWN_PATHS else "other"
            if settings.fault == "slow":
                time.sleep(settings.slow_seconds)
            code, content_type, body = self._answer(path)
            elapsed = time.perf_counter() - started
            # Counted and logged before the answer leaves: a client that reads /metrics or the log
            # right after its request always finds that request there (logged after the answer, the
            # line raced a SIGTERM sent on receipt, and a stopping server lost it).
            metrics.observe("GET", label, code, elapsed)
            if settings.access_log:
                log(
                    "request",
                    request_id=self.request_id,
                    method="GET",
                    path=path,
                    code=code,
                    duration_ms=round(elapsed * 1000, 3),
                    client=self.address_string(),
                )
            self._send(code, content_type, body)

        def _answer(self, path: str) -> tuple[int, str, bytes]:
            if path == "/health":
                if settings.fault == "unhealthy":
                    return 503, "text/plain; charset=utf-8", b"unhealthy\n"
                return 200, "text/plain; charset=utf-8", b"ok\n"
            if path == "/ready":
                return 200, "text/plain; charset=utf-8", b"ready\n"
            if path == "/metrics":
                return 200, "text/plain; version=0.0.4; charset=utf-8", metrics.render().encode()
            if path == "/":
                late = roots.next() > settings.errors_after
                if settings.fault == "errors" and late and random.random() < settings.error_rate:
                    payload = {"error": "internal error (HELLO_FAULT=errors)"}
                    return 500, "application/json", json.dumps(payload).encode() + b"\n"
                payload = {"message": settings.message, "version": settings.version, "instance": instance}
                return 200, "application/json", json.dumps(payload).encode() + b"\n"
            return 404, "application/json", b'{"error": "not found"}\n'

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Hello-Version", settings.version)
            self.send_header("X-Request-Id", self.request_id)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # requests are logged as JSON by do_GET; http.server's own lines are not structured

        def log_error(self, format: str, *args: object) -> None:
            log("http_error", level="warning", message=format % args, client=self.address_string())

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True


def serve(settings: Settings) -> int:
    if settings.fault == "crash":
        log("crash", level="error", message="HELLO_FAULT=crash: exiting at start")
        return 3
    metrics = Metrics(settings.version)
    server = Server((settings.host, settings.port), make_handler(settings, metrics))
    stopping = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    host, port = server.server_address[:2]
    log("listening", version=settings.version, host=str(host), port=int(port), fault=settings.fault)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    log("stopped", version=settings.version)
    return 0


def main() -> int:
    try:
        settings = Settings(dict(os.environ))
    except ValueError as exc:
        log("bad_configuration", level="error", message=str(exc))
        return 2
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
