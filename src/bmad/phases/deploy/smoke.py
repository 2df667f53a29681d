"""The guide's smoke tests: health 200, metrics readable as Prometheus text, the service's own suite.

The parsers (:func:`parse_metric_names`, :func:`parse_junit`) are pure; :func:`run_smoke`
talks to the service through the :class:`~bmad.ports.target.HttpProbe` and
:class:`~bmad.ports.target.SuiteRunner` ports.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import Any

from bmad.config.deploy import SmokeConfig
from bmad.core.datatypes import datatype
from bmad.core.spans import SpanKind, sleeper
from bmad.ports.target import HttpProbe, SuiteRunner

# Each pause of this polling loop is a wait on another system (a span of the phase).
_ANSWER_PAUSE = sleeper(SpanKind.SERVICE, "waiting for the service to answer")


@datatype(frozen=True)
class SmokeCase:
    """One smoke test against the new release and how it went."""

    name: str
    passed: bool
    detail: str = ""
    seconds: float = 0.0


@datatype
class SmokeReport:
    """The smoke tests of a release: each case, and the service suite's summary when one ran."""

    cases: list[SmokeCase] = field(default_factory=list)
    suite: dict[str, Any] | None = None

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.passed)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.cases if not c.passed)

    def failures(self) -> list[SmokeCase]:
        return [c for c in self.cases if not c.passed]


def parse_metric_names(text: str) -> set[str]:
    """Metric family names in a Prometheus text exposition; ValueError when it does not parse.

    Both the family name and each sample name are returned (``http_requests`` and
    ``http_requests_total`` for a counter), so either spelling can be expected.
    """
    from prometheus_client.parser import text_string_to_metric_families

    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        for sample in family.samples:
            names.add(sample.name)
    return names


@datatype(frozen=True)
class JUnitSummary:
    """The counts and failing test names of the service suite's JUnit report after a deploy."""

    tests: int
    failures: int
    errors: int
    skipped: int
    failed_names: tuple[str, ...]

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


def parse_junit(xml: str) -> JUnitSummary:
    """Count a JUnit XML report (testsuites or a single testsuite root); ValueError if unreadable."""
    try:
        root = ET.fromstring(xml)  # noqa: S314 - a report the service's own suite wrote on this machine
    except ET.ParseError as exc:
        raise ValueError(f"not JUnit XML: {exc}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ValueError(f"not JUnit XML: root element is <{root.tag}>")
    tests = failures = errors = skipped = 0
    failed: list[str] = []
    for case in root.iter("testcase"):
        tests += 1
        name = ".".join(part for part in (case.get("classname"), case.get("name")) if part)
        if case.find("failure") is not None:
            failures += 1
            failed.append(name)
        elif case.find("error") is not None:
            errors += 1
            failed.append(name)
        elif case.find("skipped") is not None:
            skipped += 1
    return JUnitSummary(tests, failures, errors, skipped, tuple(failed))


def check_health(
    probe: HttpProbe,
    base_url: str,
    path: str,
    *,
    timeout: float,
    sleep: Callable[[float], None] = _ANSWER_PAUSE,
) -> SmokeCase:
    """GET the health endpoint until it answers 200 or ``timeout`` passes."""
    started = time.monotonic()
    last = ""
    while True:
        answer = probe.get(base_url + path, timeout=min(5.0, max(timeout, 0.5)))
        if answer.ok:
            return SmokeCase(f"health {base_url}{path}", True, "200", time.monotonic() - started)
        last = f"status {answer.status}" if answer.status else (answer.error or "no answer")
        if time.monotonic() - started >= timeout:
            return SmokeCase(
                f"health {base_url}{path}",
                False,
                f"no 200 within {timeout:.0f}s (last: {last})",
                time.monotonic() - started,
            )
        sleep(0.2)


def check_metrics(probe: HttpProbe, base_url: str, path: str, expected: Sequence[str]) -> SmokeCase:
    answer = probe.get(base_url + path, timeout=5.0)
    name = f"metrics {base_url}{path}"
    if not answer.ok:
        return SmokeCase(name, False, f"status {answer.status or answer.error}", answer.seconds)
    try:
        names = parse_metric_names(answer.body)
    except ValueError as exc:
        return SmokeCase(name, False, f"does not parse as Prometheus text: {exc}", answer.seconds)
    missing = sorted(set(expected) - names)
    if missing:
        return SmokeCase(name, False, f"missing metrics: {', '.join(missing)}", answer.seconds)
    return SmokeCase(name, True, f"{len(names)} metric names, all expected present", answer.seconds)


def run_suite(
    runner: SuiteRunner, config: SmokeConfig, base_url: str, *, cwd: str, extra_env: Mapping[str, str]
) -> tuple[list[SmokeCase], dict[str, Any]]:
    """Run the service's own suite; one case per JUnit test case (or one for the whole run)."""
    assert config.command is not None
    env = {**config.env, **extra_env, config.url_env: base_url, "BMAD_URL": base_url}
    outcome = runner.run(config.command, env=env, cwd=cwd, timeout=config.timeout_seconds, junit_path=config.junit)
    evidence: dict[str, Any] = {
        "argv": list(outcome.argv),
        "exit_code": outcome.exit_code,
        "seconds": round(outcome.seconds, 3),
        "output_tail": outcome.output_tail,
        "transcript": outcome.evidence_file,
    }
    if outcome.junit_xml is not None:
        try:
            summary = parse_junit(outcome.junit_xml)
        except ValueError as exc:
            evidence["junit_error"] = str(exc)
        else:
            evidence["junit"] = {
                "tests": summary.tests,
                "passed": summary.passed,
                "failures": summary.failures,
                "errors": summary.errors,
                "skipped": summary.skipped,
                "failed": list(summary.failed_names),
            }
            cases = [SmokeCase(f"suite: {n}", False, "failed") for n in summary.failed_names]
            cases += [SmokeCase(f"suite: passed #{i + 1}", True) for i in range(summary.passed)]
            if outcome.exit_code not in (0, None) and not summary.failed_names:
                cases.append(SmokeCase("suite exit code", False, f"exit code {outcome.exit_code}"))
            if outcome.exit_code is None:
                cases.append(SmokeCase("suite run", False, outcome.output_tail[-300:]))
            return cases, evidence
    ok = outcome.exit_code == 0
    detail = "exit code 0" if ok else f"exit code {outcome.exit_code}: {outcome.output_tail[-300:]}"
    return [SmokeCase("suite", ok, detail, outcome.seconds)], evidence
