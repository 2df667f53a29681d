"""Integration suite: the HTTP API and the metrics of a running hello instance."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from conftest import get, parse_metrics


def _counter(base_url: str, path: str, code: str) -> float:
    _, _, body = get(base_url + "/metrics")
    return sum(
        value
        for name, labels, value in parse_metrics(body)
        if name == "http_requests_total" and labels.get("path") == path and labels.get("code") == code
    )


def test_root_answers_a_json_greeting(base_url: str) -> None:
    status, headers, body = get(base_url + "/")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    payload = json.loads(body)
    assert set(payload) == {"message", "version", "instance"}
    assert payload["version"] == headers["X-Hello-Version"]


def test_health_and_ready(base_url: str) -> None:
    assert get(base_url + "/health")[0] == 200
    assert get(base_url + "/ready")[::2] == (200, "ready\n")


def test_unknown_path_is_404_and_counted_as_other(base_url: str) -> None:
    before = _counter(base_url, "other", "404")
    assert get(base_url + "/no/such/page")[0] == 404
    assert _counter(base_url, "other", "404") == before + 1


def test_requests_are_counted_by_path_and_code(base_url: str) -> None:
    before = _counter(base_url, "/", "200")
    for _ in range(3):
        assert get(base_url + "/")[0] == 200
    assert _counter(base_url, "/", "200") == before + 3


def test_latency_histogram_is_cumulative_and_consistent(base_url: str) -> None:
    get(base_url + "/")
    samples = parse_metrics(get(base_url + "/metrics")[2])
    buckets = [
        (labels["le"], value) for name, labels, value in samples if name == "http_request_duration_seconds_bucket"
    ]
    assert buckets[-1][0] == "+Inf"
    counts = [value for _, value in buckets]
    assert counts == sorted(counts), "bucket counts must not decrease"
    total = next(v for n, _, v in samples if n == "http_request_duration_seconds_count")
    assert counts[-1] == total
    assert next(v for n, _, v in samples if n == "http_request_duration_seconds_sum") >= 0


def test_build_info_matches_the_reported_version(base_url: str) -> None:
    version = json.loads(get(base_url + "/")[2])["version"]
    info = [
        labels for name, labels, value in parse_metrics(get(base_url + "/metrics")[2]) if name == "hello_build_info"
    ]
    assert info == [{"version": version}]


def test_concurrent_requests_all_succeed(base_url: str) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda _: get(base_url + "/")[0], range(64)))
    assert statuses == [200] * 64


def test_process_metrics_are_exposed(base_url: str) -> None:
    names = {name for name, _, _ in parse_metrics(get(base_url + "/metrics")[2])}
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes"} <= names


def test_request_id_is_echoed_or_generated(base_url: str) -> None:
    import urllib.request

    request = urllib.request.Request(base_url + "/", headers={"X-Request-Id": "req-abc-123"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["X-Request-Id"] == "req-abc-123"
    _, headers, _ = get(base_url + "/")
    generated = headers.get("X-Request-Id", "")
    assert len(generated) == 32 and generated != "req-abc-123"
