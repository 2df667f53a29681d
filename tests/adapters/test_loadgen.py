"""The built-in load generator: histogram precision, request bytes, answer framings, errors, bounds;
locust/k6 result readers on their real output formats."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bmad.adapters.loadgen import make_load_generator
from bmad.adapters.loadgen.external import error_kind, parse_k6, parse_locust
from bmad.adapters.loadgen.histogram import Histogram, bucket_high, bucket_index
from bmad.adapters.loadgen.runner import BuiltinLoadGenerator, build_request, merge_results
from bmad.core.errors import AdapterError, UsageError
from bmad.ports.loadtest import HttpRequest, LevelPlan
from tests.helpers import free_port, misshapen

DATA = Path(__file__).resolve().parent.parent / "data" / "locust"


# ---- histogram -----------------------------------------------------------------------------------
def test_bucket_bounds_are_contiguous_and_tight() -> None:
    for value in [0, 1, 2047, 2048, 2049, 4095, 4096, 65_535, 1_000_000, 10**9]:
        index = bucket_index(value)
        assert bucket_high(index) >= value
        assert index == 0 or bucket_high(index - 1) < value
        assert bucket_high(index) - value <= max(1, value // 1000)  # within 0.1 %


def test_percentiles_match_sorted_values_within_precision() -> None:
    rng = random.Random(7)
    values = [int(rng.lognormvariate(8, 1.5)) for _ in range(50_000)]
    hist = Histogram()
    hist.record_many(values)
    ordered = sorted(values)
    for pct in (50, 95, 99, 99.9):
        exact = ordered[max(0, math.ceil(len(ordered) * pct / 100) - 1)]
        assert abs(hist.percentile(pct) - exact) <= max(1, exact // 500), pct
    assert hist.max == ordered[-1] and hist.min == ordered[0] and hist.percentile(100) == ordered[-1]


def test_merge_of_sparse_counts_equals_one_histogram() -> None:
    rng = random.Random(3)
    a_values = [rng.randint(1, 200_000) for _ in range(5000)]
    b_values = [rng.randint(1, 200_000) for _ in range(5000)]
    a, b, both = Histogram(), Histogram(), Histogram()
    a.record_many(a_values)
    b.record_many(b_values)
    both.record_many(a_values + b_values)
    merged = Histogram()
    for part in (a, b):
        merged.add_counts(part.sparse(), total=part.total, minimum=part.min, maximum=part.max)
    assert merged.counts == both.counts and merged.max == both.max and merged.min == both.min
    assert merged.percentile(95) == both.percentile(95)


# ---- request bytes --------------------------------------------------------------------------------
def test_request_bytes() -> None:
    host, port, raw = build_request(
        HttpRequest("POST", "http://127.0.0.1:8080/api/x?y=1", headers={"X-Test": "1"}, body=b'{"a":1}')
    )
    assert (host, port) == ("127.0.0.1", 8080)
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /api/x?y=1 HTTP/1.1"
    assert "Host: 127.0.0.1:8080" in lines and "X-Test: 1" in lines and "Content-Length: 7" in lines
    assert body == b'{"a":1}'
    with pytest.raises(UsageError, match="plain http"):
        build_request(HttpRequest("GET", "https://127.0.0.1/"))
    with pytest.raises(UsageError, match="line break"):
        build_request(HttpRequest("GET", "http://h/", headers={"X": "a\r\nInjected: 1"}))


# ---- a raw test server with several answer framings ------------------------------------------------
BODY = b"x" * 300


def _answers(mode: str) -> bytes:
    if mode == "keepalive":
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    if mode == "chunked":
        return (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (BODY[:100], BODY[100:]))
            + b"0\r\n\r\n"
        )
    if mode == "close":
        return b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    if mode == "http10":  # no length: the body ends when the server closes
        return b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BODY
    if mode == "garbage":  # not HTTP at all
        return b"SSH-2.0-OpenSSH\r\n\r\n"
    if mode == "split":  # headers and body in separate writes
        return b"HTTP/1.1 503 Busy\r\ncontent-length: %d\r\n\r\n" % len(BODY) + BODY
    raise AssertionError(mode)


@pytest.fixture
def raw_server() -> Iterator[Callable[[str], int]]:
    listeners: list[socket.socket] = []
    stop = threading.Event()
    accepted: dict[int, int] = {}

    def serve(conn: socket.socket, mode: str) -> None:
        with conn:
            buf = b""
            while not stop.is_set():
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    _, buf = buf.split(b"\r\n\r\n", 1)
                    if mode == "silent":
                        continue
                    answer = _answers(mode)
                    if mode == "split":
                        cut = answer.index(b"\r\n\r\n") + 4
                        conn.sendall(answer[:cut])
                        time.sleep(0.001)
                        conn.sendall(answer[cut:])
                    else:
                        conn.sendall(answer)
                    if mode in ("close", "http10"):
                        return

    def start(mode: str) -> int:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener.settimeout(0.2)
        listeners.append(listener)

        def accept_loop() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except (TimeoutError, OSError):
                    continue
                port = listener.getsockname()[1]
                accepted[port] = accepted.get(port, 0) + 1
                threading.Thread(target=serve, args=(conn, mode), daemon=True).start()

        threading.Thread(target=accept_loop, daemon=True).start()
        return int(listener.getsockname()[1])

    start.accepted = accepted  # type: ignore[attr-defined]
    yield start
    stop.set()
    for listener in listeners:
        listener.close()


@pytest.fixture(scope="module")
def generator() -> Iterator[BuiltinLoadGenerator]:
    with BuiltinLoadGenerator(workers=2) as gen:
        yield gen


@pytest.mark.parametrize("mode", ["keepalive", "chunked", "close", "http10"])
def test_every_framing_is_read_to_its_end(
    raw_server: Callable[[str], int], generator: BuiltinLoadGenerator, mode: str
) -> None:
    port = raw_server(mode)
    result = generator.run_level(HttpRequest("GET", f"http://127.0.0.1:{port}/"), LevelPlan(4, None, 200))
    assert result.requests == 200, result
    assert result.succeeded == 200 and result.success_rate == 1.0 and result.errors == {}
    assert result.statuses == {"200": 200}
    assert 0 < result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms


def test_connections_are_spread_over_replicas(
    raw_server: Callable[[str], int], generator: BuiltinLoadGenerator
) -> None:
    first, second = raw_server("keepalive"), raw_server("keepalive")
    request = HttpRequest("GET", f"http://127.0.0.1:{first}/", replicas=(f"http://127.0.0.1:{second}/",))
    result = generator.run_level(request, LevelPlan(6, None, 300))
    assert result.requests == 300 and result.success_rate == 1.0
    accepted = raw_server.accepted  # type: ignore[attr-defined]
    assert accepted[first] == 3 and accepted[second] == 3


def test_status_codes_are_errors_by_kind(raw_server: Callable[[str], int], generator: BuiltinLoadGenerator) -> None:
    port = raw_server("split")
    result = generator.run_level(HttpRequest("GET", f"http://127.0.0.1:{port}/"), LevelPlan(3, None, 30))
    assert result.requests == 30 and result.succeeded == 0
    assert result.errors == {"http_503": 30} and result.error_rate == 1.0


def test_an_answer_that_is_not_http_is_a_bad_response(
    raw_server: Callable[[str], int], generator: BuiltinLoadGenerator
) -> None:
    port = raw_server("garbage")
    result = generator.run_level(HttpRequest("GET", f"http://127.0.0.1:{port}/"), LevelPlan(2, None, 20))
    assert result.succeeded == 0 and result.errors == {"bad_response": 20} and result.statuses == {}


def test_refused_connections_are_counted_and_the_level_ends(generator: BuiltinLoadGenerator) -> None:
    started = time.monotonic()
    result = generator.run_level(HttpRequest("GET", f"http://127.0.0.1:{free_port()}/"), LevelPlan(4, 0.3, None))
    assert time.monotonic() - started < 3
    assert result.succeeded == 0 and result.requests > 0
    assert set(result.errors) == {"connect_econnrefused"}


def test_a_server_that_never_answers_cannot_hold_the_level(
    raw_server: Callable[[str], int], generator: BuiltinLoadGenerator
) -> None:
    port = raw_server("silent")
    started = time.monotonic()
    plan = LevelPlan(3, 0.5, None, request_timeout_seconds=0.3, hard_limit_seconds=2.0)
    result = generator.run_level(HttpRequest("GET", f"http://127.0.0.1:{port}/"), plan)
    assert time.monotonic() - started < 4
    assert result.succeeded == 0 and result.errors.get("timeout", 0) + result.errors.get("cut_at_level_end", 0) >= 3


def test_request_budget_and_concurrency_split_over_workers(
    raw_server: Callable[[str], int], generator: BuiltinLoadGenerator
) -> None:
    port = raw_server("keepalive")
    result = generator.run_level(HttpRequest("GET", f"http://127.0.0.1:{port}/"), LevelPlan(7, 5.0, 1001))
    assert result.requests == 1001 and result.concurrency == 7
    assert result.duration_seconds < 5


def test_merge_results_of_workers() -> None:
    a = {
        "counts": {"1000": 2},
        "completed": 2,
        "statuses": {"200": 1, "500": 1},
        "errors": {"timeout": 1},
        "lat_total_us": 2000,
        "lat_min_us": 1000,
        "lat_max_us": 1000,
        "start_ns": 0,
        "end_ns": 1_000_000_000,
    }
    b = {
        "counts": {"1500": 1},
        "completed": 1,
        "statuses": {"200": 1},
        "errors": {},
        "lat_total_us": 1500,
        "lat_min_us": 1500,
        "lat_max_us": 1500,
        "start_ns": 0,
        "end_ns": 2_000_000_000,
    }
    merged = merge_results([a, b], concurrency=2)
    assert merged.requests == 4 and merged.succeeded == 2 and merged.failed == 2
    assert merged.errors == {"http_500": 1, "timeout": 1}
    assert merged.rps == pytest.approx(1.5) and merged.max_ms == 1.5 and merged.min_ms == 1.0


# ---- locust / k6 readers --------------------------------------------------------------------------
def test_locust_results_read_into_level_figures() -> None:
    stats = json.loads((DATA / "stats.json").read_text(encoding="utf-8"))
    failures = (DATA / "failures.csv").read_text(encoding="utf-8")
    result = parse_locust(stats, failures, concurrency=10)
    entry = stats[0]
    assert result.requests == entry["num_requests"] and result.failed == entry["num_failures"]
    assert result.errors == {"http_404": entry["num_failures"]}
    assert 0 < result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms + 1
    assert result.rps == pytest.approx(
        entry["num_requests"] / (entry["last_request_timestamp"] - entry["start_time"]), rel=1e-6
    )
    assert result.runner == "locust"


def test_k6_summary_export_read_into_level_figures() -> None:
    # The shape of `k6 run --summary-export` (Rate metrics: "passes" = true values = failed requests).
    summary = {
        "metrics": {
            "http_reqs": {"count": 1000, "rate": 250.0},
            "http_req_duration": {"min": 0.5, "med": 2.0, "avg": 2.5, "p(95)": 6.0, "p(99)": 9.0, "max": 20.0},
            "http_req_failed": {"passes": 10, "fails": 990, "value": 0.01},
        }
    }
    result = parse_k6(summary, concurrency=50)
    assert (result.requests, result.failed, result.succeeded) == (1000, 10, 990)
    assert (result.p50_ms, result.p95_ms, result.p99_ms, result.max_ms) == (2.0, 6.0, 9.0, 20.0)
    assert result.duration_seconds == 4.0 and result.runner == "k6"


def test_a_misshapen_result_file_is_an_adapter_error_never_a_crash() -> None:
    """locust's real stats and k6's summary shape, one part of another type or missing (300 variants
    each): read, or refused as an AdapterError naming the tool. Before, parse_locust raised
    AttributeError/TypeError/ValueError (the MEASURE check reported a bug of its own)."""
    stats = json.loads((DATA / "stats.json").read_text(encoding="utf-8"))
    summary = {"metrics": {"http_reqs": {"count": 1000, "rate": 250.0}, "http_req_duration": {"med": 2.0}}}
    rnd = random.Random(7)
    refused: dict[str, int] = {"locust": 0, "k6": 0}
    for _ in range(300):
        for tool, read in (
            ("locust", lambda: parse_locust(misshapen(stats, rnd), "", concurrency=10)),
            ("k6", lambda: parse_k6(misshapen(summary, rnd), concurrency=10)),
        ):
            try:
                read()
            except AdapterError as exc:
                refused[tool] += 1
                assert exc.system == tool and exc.hint
    assert refused["locust"] and refused["k6"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("LocustBadStatusCode(code=404)", "http_404"),
        ("HTTPError('500 Server Error: Internal Server Error for url: /')", "http_500"),
        ("ConnectionRefusedError(111, 'Connection refused')", "connect_econnrefused"),
        ("ConnectionResetError(104, 'Connection reset by peer')", "connection_reset"),
        ("timeout('timed out')", "timeout"),
        ("SomeOtherError('x')", "some_other_error"),
    ],
)
def test_error_kinds(text: str, kind: str) -> None:
    assert error_kind(text) == kind


def test_runner_names() -> None:
    assert make_load_generator("builtin").name == "builtin"
    assert make_load_generator("auto", url="http://x/").name == "builtin"
    with pytest.raises(UsageError):
        make_load_generator("jmeter")


@pytest.mark.skipif(shutil.which("locust") is None, reason="locust is not installed (an optional runner)")
def test_locust_runner_reads_into_the_same_figures(hello_service: Callable[..., str]) -> None:
    url = hello_service()
    generator = make_load_generator("locust")
    result = generator.run_level(HttpRequest("GET", url + "/"), LevelPlan(5, 2.0, None))
    assert result.runner == "locust" and result.requests > 0 and result.success_rate == 1.0
    assert 0 < result.p50_ms <= result.p95_ms <= result.max_ms + 1
    errors = generator.run_level(HttpRequest("GET", url + "/nope"), LevelPlan(2, 1.0, None))
    assert errors.requests > 0 and errors.errors == {"http_404": errors.requests}


def test_default_workers_leave_room_for_a_local_target() -> None:
    cpus = os.cpu_count() or 1
    assert BuiltinLoadGenerator.default_workers(["127.0.0.1", "localhost", "::1"]) == max(1, cpus // 2)
    assert BuiltinLoadGenerator.default_workers(["127.0.0.1", "10.0.0.5"]) == cpus
