"""Smoke suite: the few checks that must pass right after a deployment (HELLO_URL)."""

from __future__ import annotations

import json
import os

from conftest import get, parse_metrics

EXPECTED_FAMILIES = {
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "http_request_duration_seconds_count",
    "hello_build_info",
}


def test_health_endpoint_answers_ok(base_url: str) -> None:
    status, _, body = get(base_url + "/health")
    assert (status, body.strip()) == (200, "ok")


def test_root_serves_the_expected_version(base_url: str) -> None:
    status, _, body = get(base_url + "/")
    assert status == 200
    expected = os.environ.get("HELLO_EXPECT_VERSION")
    if expected:
        assert json.loads(body)["version"] == expected


def test_metrics_endpoint_exposes_the_expected_families(base_url: str) -> None:
    status, _, body = get(base_url + "/metrics")
    assert status == 200
    names = {name for name, _, _ in parse_metrics(body)}
    assert names >= EXPECTED_FAMILIES
