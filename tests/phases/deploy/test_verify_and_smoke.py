"""Pure parts of DEPLOY: verification bounds and no-data policy, smoke parsers, the downtime prober."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from bmad.config.deploy import Criterion, VerificationConfig
from bmad.config.validate import validate
from bmad.phases.deploy.probes import DowntimeProber
from bmad.phases.deploy.smoke import parse_junit, parse_metric_names
from bmad.phases.deploy.verify import bounds_for, evaluate, render_query, verify_window
from bmad.ports.artifacts import BaselineFigure
from bmad.ports.metrics import Sample, Series
from bmad.ports.target import ProbeResponse

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# MEASURE's stored baseline (its JSON form), read back as DEPLOY reads it.
_STORED = {
    "error_rate": {"query": "q", "value": 0.02, "min": 0.0, "avg": 0.02, "max": 0.05, "p95": 0.04, "no_data": False},
    "p95_latency": {"query": "q", "value": 0.2, "min": 0.1, "avg": 0.15, "max": 0.3, "p95": 0.25, "no_data": False},
    "empty": {"query": "q", "value": None, "min": None, "avg": None, "max": None, "p95": None, "no_data": True},
}
BASELINE = {name: BaselineFigure.from_dict(figure) for name, figure in _STORED.items()}


def samples(*values: float) -> list[Sample]:
    return [Sample({"instance": str(i)}, v, 0.0) for i, v in enumerate(values)]


def test_relative_bounds_use_the_tightest_of_increase_ratio_and_max() -> None:
    error = Criterion(name="e", query="q", baseline="error_rate", max_increase=0.01)
    assert bounds_for(error, BASELINE).upper == pytest.approx(0.03)
    latency = Criterion(name="p", query="q", baseline="p95_latency", max_ratio=1.2, max=0.22)
    bounds = bounds_for(latency, BASELINE)
    assert bounds.upper == pytest.approx(0.22)  # max 0.22 is tighter than 0.2 x 1.2 = 0.24
    from_p95 = Criterion(name="p", query="q", baseline="p95_latency", baseline_field="p95", max_ratio=1.2)
    assert bounds_for(from_p95, BASELINE).upper == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("values", "status"),
    [((0.029,), "pass"), ((0.031,), "fail"), ((0.01, 0.05), "fail"), ((math.nan, 0.02), "pass")],
)
def test_error_rate_within_baseline_plus_one_point(values: tuple[float, ...], status: str) -> None:
    criterion = Criterion(name="e", query="q", baseline="error_rate", max_increase=0.01)
    outcome = evaluate(criterion, samples(*values), BASELINE, default_no_data="fail", query="q", at=NOW)
    assert outcome.status == status, outcome


def test_lower_bound() -> None:
    criterion = Criterion(name="rps", query="q", min=5)
    assert evaluate(criterion, samples(4.0), None, default_no_data="fail", query="q", at=NOW).status == "fail"
    assert evaluate(criterion, samples(6.0), None, default_no_data="fail", query="q", at=NOW).status == "pass"


@pytest.mark.parametrize(("policy", "status"), [("fail", "fail"), ("pass", "pass"), ("warn", "warn")])
def test_no_data_policy_never_a_silent_zero(policy: Any, status: str) -> None:
    criterion = Criterion(name="e", query="q", max=0.1)
    for empty in ([], samples(math.nan)):
        outcome = evaluate(criterion, empty, None, default_no_data=policy, query="q", at=NOW)
        assert outcome.status == status
        assert "no data" in outcome.detail and policy in outcome.detail


def test_missing_or_empty_baseline_falls_back_to_the_absolute_bound_or_the_policy() -> None:
    only_relative = Criterion(name="e", query="q", baseline="empty", max_increase=0.01)
    outcome = evaluate(only_relative, samples(0.5), BASELINE, default_no_data="fail", query="q", at=NOW)
    assert outcome.status == "fail" and "had no data" in outcome.detail
    with_absolute = Criterion(name="e", query="q", baseline="absent", max_increase=0.01, max=1.0)
    outcome = evaluate(with_absolute, samples(0.5), BASELINE, default_no_data="fail", query="q", at=NOW)
    assert outcome.status == "pass" and "was not captured" in outcome.detail


def test_criterion_needs_a_bound_and_a_baseline_for_relative_bounds() -> None:
    with pytest.raises(ValueError, match="at least one bound"):
        validate(Criterion, {"name": "e", "query": "q"})
    with pytest.raises(ValueError, match="baseline"):
        validate(Criterion, {"name": "e", "query": "q", "max_ratio": 1.2})


def test_query_variables() -> None:
    assert render_query('up{job="$job",env="$environment"}', {"job": "hello", "environment": "prod"}) == (
        'up{job="hello",env="prod"}'
    )


class ScriptedMetrics:
    """A MetricsQuery answering from a script: one value list per call (used for window logic only)."""

    def __init__(self, answers: list[list[float]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def query(self, expr: str, *, at: datetime | None = None) -> list[Sample]:
        self.calls.append(expr)
        return samples(*self.answers[min(len(self.calls) - 1, len(self.answers) - 1)])

    def query_range(self, expr: str, *, start: datetime, end: datetime, step_seconds: float) -> list[Series]:
        return []


def test_window_stops_at_the_first_failure_with_its_detection_time() -> None:
    config = VerificationConfig(
        window_seconds=0.05, interval_seconds=0.01, criteria=[Criterion(name="e", query="q{job='$job'}", max=0.1)]
    )
    metrics = ScriptedMetrics([[0.0], [0.0], [0.5]])
    result = verify_window(metrics, config, None, variables={"job": "hello"})
    assert result.failed is not None and result.failed.observed == 0.5
    assert len(result.rounds) == 3 and result.detected_at is not None
    assert metrics.calls[0] == "q{job='hello'}"


def test_window_tolerates_isolated_failures_when_asked() -> None:
    config = VerificationConfig(
        window_seconds=0.05,
        interval_seconds=0.01,
        failures_to_fail=2,
        criteria=[Criterion(name="e", query="q", max=0.1)],
    )
    result = verify_window(ScriptedMetrics([[0.5], [0.0], [0.5], [0.0], [0.0]]), config, None, variables={})
    assert result.failed is None and len(result.rounds) == 5
    result = verify_window(ScriptedMetrics([[0.0], [0.5], [0.5]]), config, None, variables={})
    assert result.failed is not None and len(result.rounds) == 3


def test_window_can_be_cancelled() -> None:
    cancel = threading.Event()
    cancel.set()
    config = VerificationConfig(window_seconds=10, interval_seconds=5, criteria=[Criterion(name="e", query="q", max=1)])
    assert verify_window(ScriptedMetrics([[0.0]]), config, None, variables={}, cancel=cancel).cancelled


METRICS_TEXT = """\
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",path="/",code="200"} 3
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} 3
http_request_duration_seconds_bucket{le="+Inf"} 3
http_request_duration_seconds_sum 0.01
http_request_duration_seconds_count 3
"""


def test_metric_names_from_prometheus_text() -> None:
    names = parse_metric_names(METRICS_TEXT)
    assert {"http_requests_total", "http_requests", "http_request_duration_seconds"} <= names
    assert "http_request_duration_seconds_bucket" in names
    with pytest.raises(ValueError):
        parse_metric_names("this is { not prometheus\n")


def test_junit_counts_failures_errors_and_skips() -> None:
    xml = """<?xml version="1.0"?>
    <testsuites><testsuite name="smoke">
      <testcase classname="smoke" name="a"/>
      <testcase classname="smoke" name="b"><failure message="x"/></testcase>
      <testcase classname="smoke" name="c"><error message="y"/></testcase>
      <testcase classname="smoke" name="d"><skipped/></testcase>
    </testsuite></testsuites>"""
    summary = parse_junit(xml)
    assert (summary.tests, summary.passed, summary.failures, summary.errors, summary.skipped) == (4, 1, 1, 1, 1)
    assert summary.failed_names == ("smoke.b", "smoke.c")
    with pytest.raises(ValueError):
        parse_junit("<html/>")
    with pytest.raises(ValueError):
        parse_junit("not xml")


class ScriptedProbe:
    def __init__(self, up: list[bool]) -> None:
        self.up = up
        self.count = 0

    def get(self, url: str, *, timeout: float) -> ProbeResponse:
        ok = self.up[min(self.count, len(self.up) - 1)]
        self.count += 1
        return ProbeResponse(url, 200 if ok else 0, "", 0.001)


def test_downtime_counts_only_after_the_service_was_up() -> None:
    prober = DowntimeProber(ScriptedProbe([False, False, True, False, False, True]), "/health")
    prober.add(["http://a"])
    for _ in range(6):
        prober.probe_once()
    report = prober.stop()
    assert report.probes == 6 and report.failed == 2 and not report.zero_downtime


def test_criterion_reuses_the_query_measure_stored() -> None:
    config = VerificationConfig(
        window_seconds=0.01,
        interval_seconds=0.01,
        criteria=[
            Criterion(name="e", baseline="error_rate", max_increase=0.01),
            Criterion(name="gone", baseline="absent", max=1.0),
        ],
    )
    baseline = {"error_rate": BaselineFigure.from_dict({**_STORED["error_rate"], "query": 'rate(x{job="hello"}[1m])'})}
    metrics = ScriptedMetrics([[0.0]])
    result = verify_window(metrics, config, baseline, variables={"job": "hello"})
    assert metrics.calls == ['rate(x{job="hello"}[1m])']
    assert result.failed is not None and "stored none" in result.failed.detail  # no-data policy: fail


def test_measure_style_placeholders() -> None:
    assert render_query('up{job="{job}"}[{rate_window}]', {"job": "hello", "rate_window": "1m"}) == (
        'up{job="hello"}[1m]'
    )


def test_scope_selectors_adds_release_matchers_to_every_job_selector() -> None:
    from bmad.phases.deploy.verify import scope_selectors

    query = (
        '(sum(rate(http_requests_total{job="hello",code=~"5.."}[1m])) or vector(0))'
        ' / sum(rate(http_requests_total{job="hello"}[1m]))'
    )
    scoped = scope_selectors(query, {"environment": "dev", "release": "abc123"})
    assert scoped == (
        '(sum(rate(http_requests_total{job="hello",code=~"5..",environment="dev",release="abc123"}[1m]))'
        ' or vector(0)) / sum(rate(http_requests_total{job="hello",environment="dev",release="abc123"}[1m]))'
    )


def test_scope_selectors_keeps_matchers_the_query_has_and_selectors_without_a_job() -> None:
    from bmad.phases.deploy.verify import scope_selectors

    query = 'sum(up{job="hello",environment=~"dev|staging"}) + sum(other_metric{instance="x"})'
    scoped = scope_selectors(query, {"environment": "dev", "release": "r1"})
    assert scoped == 'sum(up{job="hello",environment=~"dev|staging",release="r1"}) + sum(other_metric{instance="x"})'
