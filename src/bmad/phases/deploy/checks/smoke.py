"""deploy.smoke: health 200 and the expected metric names on every replica, then the service's own suite."""

from __future__ import annotations

from typing import Any

from bmad.core.models import CheckResult, MetricValue
from bmad.phases.deploy.checks import rollout
from bmad.phases.deploy.ports import DeployPorts, now
from bmad.phases.deploy.smoke import SmokeReport, check_health, check_metrics, run_suite
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("deploy.smoke", "Smoke tests: health, metrics, smoke suite")
NEEDS = (rollout.CHECK.id,)


def run(ctx: PhaseContext, ports: DeployPorts) -> CheckResult:
    urls = ports.target.endpoints(ports.spec)
    if not urls:
        return CHECK.warned(
            "no URL to smoke-test",
            expected="a base URL for the service",
            observed="the target has no reachable endpoint",
            fix="set environments.<env>.target.kubernetes.url (ingress or port-forward URL)",
            metrics={"smoke_tests_passed": 0, "smoke_tests_failed": 0},
        )
    report, suite_evidence = _smoke_tests(ports, urls)
    metrics: dict[str, MetricValue] = {"smoke_tests_passed": report.passed, "smoke_tests_failed": report.failed}
    evidence: dict[str, Any] = {
        "cases": [c.__dict__ for c in report.cases],
        "suite": suite_evidence,
        "urls": urls,
    }
    total = len(report.cases)
    if report.failed:
        evidence["detected_at"] = now().isoformat()
        first = report.failures()[0]
        return CHECK.failed(
            f"{report.failed}/{total} smoke tests failed; first: {first.name}: {first.detail}",
            expected=f"{total}/{total} smoke tests pass",
            observed=f"{report.passed}/{total} passed",
            fix="fix the failing smoke tests' cause (see evidence); the release was not cut over",
            evidence=evidence,
            metrics=metrics,
        )
    return CHECK.passed(
        f"{report.passed}/{total} smoke tests passed",
        expected=f"{total}/{total} smoke tests pass",
        observed=f"{report.passed}/{total} passed",
        evidence=evidence,
        metrics=metrics,
    )


def _smoke_tests(ports: DeployPorts, urls: list[str]) -> tuple[SmokeReport, Any]:
    """Health and metrics of every URL, then the service's own suite against the first (when configured)."""
    config, smoke = ports.config, ports.config.smoke
    report = SmokeReport()
    for url in urls:
        report.cases.append(check_health(ports.probe, url, config.health_path, timeout=smoke.health_timeout_seconds))
        report.cases.append(check_metrics(ports.probe, url, config.metrics_path, smoke.expected_metrics))
    suite_evidence = None
    if smoke.command and ports.suite is not None:
        cases, suite_evidence = run_suite(
            ports.suite,
            smoke,
            urls[0],
            cwd=ports.repository_dir,
            extra_env={"BMAD_ENVIRONMENT": ports.spec.environment},
        )
        report.cases.extend(cases)
    return report, suite_evidence
