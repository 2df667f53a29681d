"""Faults per test: what the real kubectl (client-go) does with them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.kube_apiserver.harness import StandIn


@pytest.fixture
def faults(standin: StandIn) -> Iterator[StandIn]:
    yield standin
    standin.control("DELETE", "faults")


def test_429_carries_retry_after_and_client_go_retries(faults: StandIn) -> None:
    faults.control("POST", "faults", {"rules": [{"kind": "429", "path": "/configmaps", "times": 1, "retryAfter": 1}]})
    answer = faults.request("GET", "/api/v1/namespaces/default/configmaps")
    assert answer.status == 429 and answer.headers["Retry-After"] == "1"
    assert answer.body["details"]["retryAfterSeconds"] == 1
    faults.control("POST", "faults", {"rules": [{"kind": "429", "path": "/configmaps", "times": 1, "retryAfter": 1}]})
    started = time.monotonic()
    result = faults.kubectl("get", "configmaps", "-n", "default")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 1.0  # client-go waited Retry-After before its retry


def test_500_every_other_request(faults: StandIn) -> None:
    faults.control("POST", "faults", {"rules": [{"kind": "500", "path": "/secrets", "every": 2}]})
    first = faults.request("GET", "/api/v1/namespaces/default/secrets")
    second = faults.request("GET", "/api/v1/namespaces/default/secrets")
    assert (first.status, second.status) == (200, 500)
    assert second.body["reason"] == "InternalError"


def test_503_is_reported_by_kubectl(faults: StandIn) -> None:
    faults.control("POST", "faults", {"rules": [{"kind": "503", "path": "/serviceaccounts", "retryAfter": 0}]})
    result = faults.kubectl("get", "serviceaccounts", "-n", "default", "--request-timeout=5s")
    assert result.returncode == 1
    assert "Error from server (ServiceUnavailable)" in result.stderr


def test_slow_answers_hit_the_client_timeout(faults: StandIn) -> None:
    faults.control("POST", "faults", {"rules": [{"kind": "slow", "path": "/limitranges", "delay": 2}]})
    result = faults.kubectl("get", "limitranges", "-n", "default", "--request-timeout=500ms")
    assert result.returncode == 1
    assert "Client.Timeout exceeded" in result.stderr or "context deadline exceeded" in result.stderr


def test_dropped_connections(faults: StandIn) -> None:
    faults.control("POST", "faults", {"rules": [{"kind": "drop", "path": "/resourcequotas", "times": 1}]})
    retried = faults.kubectl("get", "resourcequotas", "-n", "default", "--request-timeout=5s")
    assert retried.returncode == 0, retried.stderr  # client-go retries a GET whose connection dropped
    faults.control("POST", "faults", {"rules": [{"kind": "drop", "path": "/resourcequotas"}]})
    result = faults.kubectl("get", "resourcequotas", "-n", "default", "--request-timeout=1s")
    assert result.returncode == 1
    assert "error from a previous attempt: EOF" in result.stderr
