"""PrometheusClient: parsers on captured real answers (tests/data/prometheus), the client on the stack's Prometheus."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.prometheus import (
    PrometheusClient,
    parse_alertmanagers,
    parse_instant,
    parse_range,
    parse_rules,
    parse_runtime_info,
    parse_targets,
    parse_time,
)
from bmad.core.errors import AdapterError, Unreachable
from tests.helpers import free_port, misshapen, serving, wait_for

DATA = Path(__file__).resolve().parent.parent / "data" / "prometheus"


def data(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["data"]


def test_parse_time_keeps_nanosecond_answers_to_microseconds() -> None:
    parsed = parse_time("2026-11-26T13:57:31.274701124Z")
    assert parsed == datetime(2026, 11, 26, 13, 57, 31, 274701, tzinfo=UTC)
    assert parse_time("2026-11-26T13:57:31Z").tzinfo is not None
    assert parse_time("2026-11-26T13:57:31.5+01:00").utcoffset() == timedelta(hours=1)


def test_runtime_info_start_time_and_reload_state() -> None:
    ok = parse_runtime_info(data("runtimeinfo.json"))
    assert ok.reload_config_success is True and ok.start_time.year >= 2024
    failed = parse_runtime_info(data("runtimeinfo_reload_failed.json"))
    assert failed.reload_config_success is False
    with pytest.raises(AdapterError):
        parse_runtime_info({})


def test_instant_answers_vector_scalar_nan_empty() -> None:
    vector = parse_instant(data("query_vector.json"))
    assert {s.labels["job"] for s in vector} >= {"pushgateway"}
    assert all(s.value in (0.0, 1.0) for s in vector)
    scalar = parse_instant(data("query_scalar.json"))
    assert [s.value for s in scalar] == [2.0]
    nan = parse_instant(data("query_nan.json"))
    assert len(nan) == 1 and math.isnan(nan[0].value)
    assert parse_instant(data("query_empty.json")) == []


def test_range_answer_points() -> None:
    series = parse_range(data("query_range.json"))
    assert series and all(len(s.points) >= 2 for s in series)
    assert all(a[0] < b[0] for s in series for a, b in zip(s.points, s.points[1:], strict=False))


def test_targets_rules_alertmanagers() -> None:
    targets = parse_targets(data("targets_down.json"))
    assert {t.health for t in targets} == {"up", "down"}
    down = next(t for t in targets if t.health == "down")
    assert down.job == "dead" and "connection refused" in down.last_error
    groups = parse_rules(data("rules_broken.json"))
    broken = [r for g in groups for r in g.errors]
    assert [r.name for r in broken] == ["Broken"]
    assert "many-to-many" in broken[0].last_error
    kinds = {r.kind for g in groups for r in g.rules}
    assert kinds == {"alerting", "recording"}
    managers = parse_alertmanagers(data("alertmanagers.json"))
    assert managers and managers[0].active and managers[0].url.endswith("/api/v2/alerts")


@pytest.mark.stack
def test_client_against_the_stack(stack: Any) -> None:
    prom = PrometheusClient(stack.prometheus_url)
    assert prom.ready()
    info = prom.runtime_info()
    assert info.start_time <= datetime.now(UTC) and info.version
    samples = wait_for(lambda: prom.query('up{job="pushgateway"}'), timeout=15, what="first scrape")
    assert [s.value for s in samples] == [1.0]
    assert prom.query("bmad_metric_that_does_not_exist") == []
    now = datetime.now(UTC)
    series = prom.query_range('up{job="pushgateway"}', start=now - timedelta(seconds=3), end=now, step_seconds=1)
    assert len(series) == 1 and series[0].points
    assert any(t.job == "pushgateway" and t.health == "up" for t in prom.targets())
    # (right after a config reload the list is empty until discovery ran again)
    wait_for(lambda: any(a.active for a in prom.alertmanagers()), timeout=10, what="alertmanager discovered")
    with pytest.raises(AdapterError) as bad:
        prom.query("sum(")
    assert bad.value.status == 400 and "parse error" in bad.value.detail
    assert not isinstance(bad.value, Unreachable)


def test_unreachable_is_a_clear_error() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(Unreachable) as down:
        PrometheusClient(f"http://127.0.0.1:{port}", timeout=2).query("up")
    assert time.monotonic() - started < 5
    assert down.value.exit_code == 3
    assert f"127.0.0.1:{port}" in (down.value.hint or "")


READERS: list[tuple[Callable[[Any], Any], str]] = [
    (parse_instant, "query_vector.json"),
    (parse_instant, "query_scalar.json"),
    (parse_range, "query_range.json"),
    (parse_runtime_info, "runtimeinfo.json"),
    (parse_targets, "targets_down.json"),
    (parse_rules, "rules_broken.json"),
    (parse_alertmanagers, "alertmanagers.json"),
]


@pytest.mark.parametrize(("read", "name"), READERS, ids=[f"{r.__name__}:{n}" for r, n in READERS])
def test_a_misshapen_answer_is_an_adapter_error_never_a_crash(read: Callable[[Any], Any], name: str) -> None:
    """Captured real answers with one part of another type or missing (400 variants each): each is read or
    refused as an AdapterError naming Prometheus; before, 36 places raised KeyError/TypeError/... and the
    check that asked reported "a bug in the check"."""
    rnd = random.Random(name)
    refused = 0
    for _ in range(400):
        try:
            read(misshapen(data(name), rnd))
        except AdapterError as exc:
            refused += 1
            assert exc.system == "prometheus" and exc.detail and exc.action.startswith("reading ")
    assert refused  # the answers were really misshapen enough to be refused


def test_the_client_refuses_a_look_alike_answer_with_the_system_and_the_action() -> None:
    """A server that says "success" in Prometheus' envelope with a sample that has no value."""
    answer = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}
    with serving(json.dumps(answer).encode(), "application/json") as url, pytest.raises(AdapterError) as refused:
        PrometheusClient(url, timeout=5).query("up")
    assert str(refused.value).startswith("prometheus: reading a query answer failed: the answer is not shaped as")
    assert "KeyError: 'value'" in str(refused.value) and not isinstance(refused.value, Unreachable)
    assert "serves Prometheus' own HTTP API" in (refused.value.hint or "")
