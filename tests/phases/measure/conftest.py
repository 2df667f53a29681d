"""Helpers for MEASURE tests: a phase context from YAML, a History that may hold a deployed release,
the example service scraped by the stack's Prometheus with rules written by the test."""

from __future__ import annotations

import textwrap
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bmad.core.models import PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ports.history import ReleaseRecord
from bmad.ports.phase import PhaseContext
from tests.helpers import wait_for
from tests.phase_harness import context_from_yaml

GOOD_RULES = """\
groups:
  - name: hello
    rules:
      - record: job:http_requests:rate10s
        expr: sum by (job) (rate(http_requests_total[10s]))
      - alert: HelloDown
        expr: up{job="hello"} == 0
        for: 30s
        labels: {severity: critical}
      - alert: HelloErrors
        expr: sum(rate(http_requests_total{code=~"5.."}[30s])) > 1
        for: 1m
        labels: {severity: warning}
"""

# Loads (promtool accepts it) but fails at every evaluation: two series match the same empty group.
BROKEN_RULES = """\
groups:
  - name: broken
    rules:
      - alert: DuplicateMatch
        expr: >-
          vector(1) + on()
          (label_replace(vector(1), "x", "a", "", "") or label_replace(vector(1), "x", "b", "", ""))
"""


class History:
    """The History port: empty (first release) or with one deployed release."""

    def __init__(self, *, deployed: bool) -> None:
        self.deployed = deployed

    def previous_releases(self, *, limit: int = 20) -> list[ReleaseRecord]:
        record = self.last_deployed()
        return [record] if record else []

    def last_deployed(self) -> ReleaseRecord | None:
        if not self.deployed:
            return None
        release = Release("hello", "staging", "0" * 40)
        return ReleaseRecord(release, {PhaseName.DEPLOY: PhaseResult(PhaseName.DEPLOY, PhaseStatus.PASSED)})


def make_ctx(tmp_path: Path, yaml_text: str, *, deployed: bool = True, environment: str = "staging") -> PhaseContext:
    return context_from_yaml(
        tmp_path,
        yaml_text,
        environment=environment,
        version="1" * 40,
        history=History(deployed=deployed),
        evidence_dir=tmp_path / "evidence",
    )


def config_yaml(
    stack: Any,
    *,
    service_url: str | None,
    prometheus_url: str | None = None,
    grafana: str = "",
    measure: str = "",
    min_rules: int = 3,
    job: str = "hello",
    load_test: str | None = None,
) -> str:
    if load_test is None:  # no service URL: never let the default local target URL be hit by accident
        load_test = "{levels: [5, 10, 20], duration_seconds: 1, workers: 2}" if service_url else "{enabled: false}"
    monitoring = [
        f"prometheus_url: {prometheus_url or stack.prometheus_url}",
        f"pushgateway_url: {stack.pushgateway_url}",
        f"alertmanager_url: {stack.alertmanager_url}",
    ]
    if service_url:
        monitoring.append(f"service_url: {service_url}")
    if grafana:
        monitoring.append(grafana)
    text = "service: {name: hello}\nenvironments:\n  staging:\n    monitoring:\n"
    text += "".join(f"      {line}\n" for line in monitoring)
    text += "measure:\n" + textwrap.indent(
        textwrap.dedent(
            """\
            scrape_job: {job}
            min_alert_rules: {min_rules}
            rate_window: 10s
            baseline_window_seconds: 30
            baseline_step_seconds: 1
            end_to_end: {{timeout_seconds: 15, poll_seconds: 0.1}}
            load_test: {load_test}
            """
        ).format(min_rules=min_rules, load_test=load_test, job=job)
        + textwrap.dedent(measure),
        "  ",
    )
    return text


@pytest.fixture
def scraped(stack: Any, tmp_path: Path) -> Iterator[Callable[..., None]]:
    """``scraped({job: [targets]}, rules=GOOD_RULES)``: configure the stack's Prometheus; restored afterwards."""
    before_targets = dict(stack.settings.scrape_targets)
    before_rules = list(stack.settings.rule_files)

    def configure(targets: dict[str, list[str]], *, rules: list[str] | None = None) -> None:
        files = []
        for index, text in enumerate(rules or []):
            path = tmp_path / f"rules-{index}.yml"
            path.write_text(text, encoding="utf-8")
            files.append(path)
        stack.set_rule_files(files)
        stack.set_scrape_targets(targets)

    yield configure
    stack.set_scrape_targets(before_targets)
    stack.set_rule_files(before_rules)


def traffic(url: str, count: int = 40) -> None:
    for _ in range(count):
        with urllib.request.urlopen(url + "/", timeout=5) as answer:
            answer.read()


def wait_for_rate(stack: Any, job: str) -> None:
    """Until Prometheus has seen traffic on the job (two scrapes with a difference)."""
    from bmad.adapters.prometheus import PrometheusClient

    prom = PrometheusClient(stack.prometheus_url)
    wait_for(
        lambda: [s for s in prom.query(f'sum(rate(http_requests_total{{job="{job}"}}[10s])) > 0')],
        timeout=20,
        interval=0.2,
        what="request rate visible in Prometheus",
    )
