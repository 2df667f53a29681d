"""The example service (examples/hello) as a local process: endpoints, metrics format, fault modes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import HELLO_APP, HELLO_DIR, free_port, http_get, run_hello


def _families(url: str) -> dict[str, object]:
    status, body = http_get(url + "/metrics")
    assert status == 200
    return {family.name: family for family in text_string_to_metric_families(body)}


def test_metrics_parse_with_the_prometheus_parser(hello_service) -> None:
    url = hello_service(version="2.3.4")
    for _ in range(5):
        http_get(url + "/")
    http_get(url + "/health")
    families = _families(url)
    assert {"http_requests", "http_request_duration_seconds", "process_cpu_seconds", "hello_build_info"} <= set(
        families
    )
    requests = families["http_requests"]
    assert requests.type == "counter"  # type: ignore[attr-defined]
    by_labels = {
        (s.labels["method"], s.labels["path"], s.labels["code"]): s.value
        for s in requests.samples  # type: ignore[attr-defined]
        if s.name == "http_requests_total"
    }
    assert by_labels[("GET", "/", "200")] == 5
    assert by_labels[("GET", "/health", "200")] == 1
    histogram = families["http_request_duration_seconds"]
    assert histogram.type == "histogram"  # type: ignore[attr-defined]
    samples = {(s.name, s.labels.get("le")): s.value for s in histogram.samples}  # type: ignore[attr-defined]
    # Every answered request is in both the counter and the histogram (/metrics itself is
    # counted after it answers, so neither includes this scrape).
    answered = sum(by_labels.values())
    assert answered == 5 + 1 + by_labels[("GET", "/ready", "200")]
    assert samples[("http_request_duration_seconds_count", None)] == answered
    assert samples[("http_request_duration_seconds_bucket", "+Inf")] == answered
    info = families["hello_build_info"].samples[0]  # type: ignore[attr-defined]
    assert info.labels == {"version": "2.3.4"} and info.value == 1
    rss = families["process_resident_memory_bytes"].samples[0].value  # type: ignore[attr-defined]
    assert rss > 1_000_000


def test_fault_unhealthy_fails_the_health_check_only(hello_service) -> None:
    url = hello_service(fault="unhealthy")
    assert http_get(url + "/health") == (503, "unhealthy\n")
    assert http_get(url + "/")[0] == 200


def test_fault_errors_fails_about_half_of_the_requests(hello_service) -> None:
    url = hello_service(fault="errors")
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda _: http_get(url + "/")[0], range(200)))
    errors = codes.count(500)
    assert codes.count(200) + errors == 200
    assert 50 < errors < 150, errors  # ~50 %: binomial(200, 0.5) is inside with p > 0.99999
    families = _families(url)
    counted = {
        s.labels["code"]: s.value
        for s in families["http_requests"].samples  # type: ignore[attr-defined]
        if s.labels.get("path") == "/"
    }
    assert counted == {"200": 200 - errors, "500": errors}
    assert http_get(url + "/health")[0] == 200


def test_fault_errors_after_answers_the_first_requests_normally(hello_service) -> None:
    url = hello_service(fault="errors", HELLO_ERRORS_AFTER="20", HELLO_ERROR_RATE="1")
    first = [http_get(url + "/")[0] for _ in range(20)]
    later = [http_get(url + "/")[0] for _ in range(10)]
    assert first == [200] * 20
    assert later == [500] * 10


def test_fault_slow_adds_latency_that_the_histogram_sees(hello_service) -> None:
    url = hello_service(fault="slow", HELLO_SLOW_MS="120")
    started = time.perf_counter()
    assert http_get(url + "/")[0] == 200
    assert time.perf_counter() - started >= 0.12
    families = _families(url)
    buckets = {
        s.labels["le"]: s.value
        for s in families["http_request_duration_seconds"].samples  # type: ignore[attr-defined]
        if s.name.endswith("_bucket")
    }
    # The readiness probe and the one request above each took >= 120 ms.
    assert buckets["0.1"] == 0
    assert buckets["0.25"] == buckets["+Inf"] >= 2


def test_fault_crash_exits_at_start() -> None:
    port = free_port()
    env = {"HELLO_FAULT": "crash", "HELLO_PORT": str(port), "HELLO_HOST": "127.0.0.1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, str(HELLO_APP)], env=env, capture_output=True, text=True, timeout=20)
    assert proc.returncode != 0
    assert "crash" in proc.stderr


def test_unknown_fault_is_a_configuration_error() -> None:
    env = {"HELLO_FAULT": "explode", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, str(HELLO_APP)], env=env, capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2
    assert "explode" in proc.stderr


def test_sigterm_stops_the_service_cleanly() -> None:
    with run_hello() as (url, proc):
        assert http_get(url + "/health")[0] == 200
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_version_comes_from_the_environment(hello_service) -> None:
    url = hello_service(version="9.8.7")
    status, body = http_get(url + "/")
    assert status == 200 and json.loads(body)["version"] == "9.8.7"


@pytest.mark.parametrize("suite", ["integration", "smoke"])
def test_the_example_suites_pass_against_a_running_instance(hello_service, suite: str, tmp_path: Path) -> None:
    url = hello_service(version="5.5.5")
    junit = tmp_path / f"{suite}.xml"
    env = {"HELLO_URL": url, "HELLO_EXPECT_VERSION": "5.5.5", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/{suite}", f"--junitxml={junit}"],
        cwd=HELLO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    text = junit.read_text()
    assert 'failures="0"' in text and 'errors="0"' in text


def test_the_smoke_suite_fails_against_an_unhealthy_instance(hello_service, tmp_path: Path) -> None:
    url = hello_service(fault="unhealthy")
    junit = tmp_path / "smoke.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/smoke", f"--junitxml={junit}"],
        cwd=HELLO_DIR,
        env={"HELLO_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert 'failures="1"' in junit.read_text()
