"""Known data for the reports' tests, recorded through the ledger API with injected timestamps.

Timeline (T0 = 2026-01-05 10:00 UTC), service ``hello``, environment ``dev``:

* A  day 0: success, 10 min end to end, commit 2 h before start (lead 2 h 10 min), zero downtime
* B  day 1: success, 20 min, commit 1 h before start (lead 1 h 20 min), zero downtime
* C  day 2: DEPLOY failed, rolled back automatically: detected 10:13, recovered 90 s later; 15 min; downtime
* D  day 2 (12:00): stopped by BUILD (critical CVE): not a deployment
* E  day 3: success, 30 min, commit 30 min before start (lead 1 h), zero downtime
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bmad.core.ci import Deployer
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger, RollbackInput

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=6)
MIN = timedelta(minutes=1)


@dataclass
class Spec:
    version: str
    start: datetime
    minutes: tuple[float, float, float, float]  # BUILD, MEASURE, ANALYZE, DEPLOY durations
    commit_before: timedelta | None = None
    stop_at: PhaseName | None = None  # the phase that failed (nothing after it ran)
    deploy_ok: bool = True
    zero_downtime: bool | None = True
    rollback: tuple[timedelta, timedelta | None] | None = None  # (detected after DEPLOY start, restore time)
    service: str = "hello"
    environment: str = "dev"


BASELINE = {
    "cpu_usage": {
        "query": "rate(process_cpu_seconds_total[1m])",
        "value": 0.021,
        "min": 0.01,
        "avg": 0.02,
        "max": 0.03,
        "p95": 0.028,
        "no_data": False,
    },
    "memory_bytes": {
        "query": "process_resident_memory_bytes",
        "value": 25165824,
        "min": 24000000,
        "avg": 25000000,
        "max": 26000000,
        "p95": 25900000,
        "no_data": False,
    },
    "request_rate": {
        "query": "sum(rate(http_requests_total[1m]))",
        "value": 12.5,
        "min": 10.0,
        "avg": 12.0,
        "max": 15.0,
        "p95": 14.5,
        "no_data": False,
    },
    "latency_p95_seconds": {
        "query": "histogram_quantile(0.95, ...)",
        "value": 0.006,
        "min": 0.005,
        "avg": 0.006,
        "max": 0.008,
        "p95": 0.0075,
        "no_data": False,
    },
    "error_ratio": {
        "query": "sum(rate(http_requests_total{code=~'5..'}[1m]))",
        "value": None,
        "min": None,
        "avg": None,
        "max": None,
        "p95": None,
        "no_data": True,
    },
}
LOAD_TEST = {
    "levels": [
        {
            "concurrency": 1,
            "requests": 400,
            "success_rate": 1.0,
            "rps": 200.0,
            "p50": 0.004,
            "p95": 0.006,
            "p99": 0.008,
            "max": 0.011,
        },
        {
            "concurrency": 4,
            "requests": 1200,
            "success_rate": 1.0,
            "rps": 600.0,
            "p50": 0.006,
            "p95": 0.010,
            "p99": 0.014,
            "max": 0.020,
        },
        {
            "concurrency": 16,
            "requests": 1300,
            "success_rate": 0.99,
            "rps": 650.0,
            "p50": 0.024,
            "p95": 0.040,
            "p99": 0.060,
            "max": 0.090,
        },
    ]
}


def _check(cid: str, title: str, status: CheckStatus = CheckStatus.PASS, **kw: Any) -> CheckResult:
    return CheckResult(id=cid, title=title, status=status, **kw)


def phase_result(spec: Spec, phase: PhaseName, start: datetime, end: datetime, status: PhaseStatus) -> PhaseResult:
    ok = status is PhaseStatus.PASSED
    if phase is PhaseName.BUILD:
        crit = 0 if ok else 2
        checks = [
            _check(
                "build.tests.integration",
                "Integration tests",
                evidence={"tests": {"total": 37, "passed": 36, "failed": 0, "skipped": 1}},
                duration_seconds=40.0,
            ),
            _check(
                "build.vulnerabilities",
                "Security scan",
                CheckStatus.PASS if ok else CheckStatus.FAIL,
                summary="no HIGH or CRITICAL CVE" if ok else "2 CRITICAL CVEs",
                expected="0 HIGH, 0 CRITICAL",
                observed=f"0 HIGH, {crit} CRITICAL",
                fix="" if ok else "upgrade openssl to 3.0.13",
                evidence={"findings": crit},
            ),
            _check("build.push", "Push to registry", observed="pushed 2 tags"),
        ]
        return PhaseResult(
            phase,
            status,
            checks=checks,
            metrics={
                "build_duration_seconds": (end - start).total_seconds(),
                "test_pass_rate": 100.0,
                "image_size_mb": 48.2,
                "vulnerabilities_critical": crit,
                "vulnerabilities_high": 0,
                "image_digest": "sha256:" + spec.version * 8,
            },
            artifacts={
                "image": "127.0.0.1:5000/hello",
                "image_ref": f"127.0.0.1:5000/hello:{spec.version[:7]}",
                "image_tags": [f"127.0.0.1:5000/hello:{spec.version[:7]}", "127.0.0.1:5000/hello:latest"],
            },
            started_at=start,
            finished_at=end,
        )
    if phase is PhaseName.MEASURE:
        return PhaseResult(
            phase,
            status,
            checks=[_check("measure.baseline", "Baseline captured"), _check("measure.alert_rules", "Alert rules")],
            metrics={
                "prometheus_uptime_seconds": 432000,
                "grafana_dashboards_count": 4,
                "alert_rules_loaded": 25,
                "baseline_captured": True,
            },
            artifacts={"baseline": BASELINE, "load_test": LOAD_TEST},
            started_at=start,
            finished_at=end,
        )
    if phase is PhaseName.ANALYZE:
        return PhaseResult(
            phase,
            status,
            checks=[
                _check(
                    "analyze.secrets", "Secrets exist", evidence={"found": ["a", "b", "c"], "required": ["a", "b", "c"]}
                )
            ],
            metrics={
                "readiness_checklist_complete": 1.0,
                "kubernetes_manifests_valid": True,
                "secrets_configured": True,
                "rollback_plan_documented": True,
                "risk_assessment_complete": True,
            },
            artifacts={
                "rollback_plan": {"steps": ["stop the new containers", "start the snapshot's image"]},
                "snapshot": {"image": "127.0.0.1:5000/hello@sha256:prev", "replicas": 2},
            },
            started_at=start,
            finished_at=end,
        )
    verify_status = CheckStatus.PASS if spec.deploy_ok else CheckStatus.FAIL
    metrics: dict[str, Any] = {
        "deployment_duration_seconds": (end - start).total_seconds(),
        "pods_running": 2,
        "pods_failed": 0,
        "smoke_tests_passed": 20 if spec.deploy_ok else 18,
        "smoke_tests_failed": 0 if spec.deploy_ok else 2,
        "rollout_successful": spec.deploy_ok,
        "rolled_back": spec.rollback is not None,
    }
    if spec.zero_downtime is not None:
        metrics["zero_downtime"] = spec.zero_downtime
    return PhaseResult(
        phase,
        status,
        checks=[
            _check("deploy.rollout", "Rollout", duration_seconds=30.0),
            _check(
                "deploy.verify",
                "Post-deploy verification",
                verify_status,
                summary="error ratio above bound" if not spec.deploy_ok else "all criteria within bounds",
                fix="" if spec.deploy_ok else "look at the new version's 5xx responses",
                evidence={
                    "rounds": [
                        [
                            {
                                "name": "error_ratio",
                                "query": "q",
                                "status": verify_status.value,
                                "observed": 0.0 if spec.deploy_ok else 0.5,
                                "bound": "<= 0.05",
                                "detail": "",
                                "at": end.isoformat(),
                            },
                            {
                                "name": "latency_p95_seconds",
                                "query": "q2",
                                "status": "pass",
                                "observed": 0.0072,
                                "bound": "<= 0.012",
                                "detail": "",
                                "at": end.isoformat(),
                            },
                        ]
                    ]
                },
            ),
        ],
        metrics=metrics,
        started_at=start,
        finished_at=end,
    )


def record(ledger: Ledger, spec: Spec) -> Release:
    release = Release(
        spec.service,
        spec.environment,
        spec.version,
        commit_time=spec.start - spec.commit_before if spec.commit_before is not None else None,
    )
    ledger.ensure_release(release, created_at=spec.start)
    at = spec.start
    for phase, minutes in zip(PhaseName.ordered(), spec.minutes, strict=True):
        end = at + minutes * MIN
        failed = spec.stop_at is phase or (phase is PhaseName.DEPLOY and not spec.deploy_ok)
        status = PhaseStatus.FAILED if failed else PhaseStatus.PASSED
        result = phase_result(spec, phase, at, end, status)
        rollback = None
        if phase is PhaseName.DEPLOY and spec.rollback is not None:
            detected = at + spec.rollback[0]
            restore = spec.rollback[1]
            rollback = RollbackInput(
                reason="post-deploy verification: error_ratio 0.5 above bound <= 0.05",
                detected_at=detected,
                recovered_at=detected + restore if restore is not None else None,
                to_version="a" * 40,
            )
        ledger.record_phase(release, result, rollback=rollback)
        at = end
        if failed:
            break
    return release


SPECS = [
    Spec("a" * 40, T0, (3, 2, 1, 4), commit_before=timedelta(hours=2)),
    Spec("b" * 40, T0 + timedelta(days=1), (5, 5, 5, 5), commit_before=timedelta(hours=1)),
    Spec(
        "c" * 40,
        T0 + timedelta(days=2),
        (3, 3, 3, 6),
        commit_before=timedelta(hours=1),
        deploy_ok=False,
        zero_downtime=False,
        rollback=(3 * MIN, timedelta(seconds=90)),
    ),
    Spec("d" * 40, T0 + timedelta(days=2, hours=2), (2, 0, 0, 0), stop_at=PhaseName.BUILD),
    Spec("e" * 40, T0 + timedelta(days=3), (10, 5, 5, 10), commit_before=timedelta(minutes=30)),
]


# -- a release like `bmad demo`'s second one: long digests, readiness, a failed metric with baseline 0 --

DIGEST = "sha256:" + "0123456789abcdef" * 4
REPO = "127.0.0.1:45123/bmad-demo/hello-service-with-a-long-repository-name"


def filled_ledger(path: Path) -> str:
    """A SQLite ledger at ``path`` holding every release of :data:`SPECS`; its URL."""
    url = f"sqlite:///{path}"
    with Ledger.open(url, clock=lambda: T0 + timedelta(days=9)) as ledger:
        for spec in SPECS:
            record(ledger, spec)
    return url


def demo_like_phases(start: datetime) -> list[PhaseResult]:
    """The four phase results of a demo-like release that DEPLOY rolled back (error_ratio 0 -> 50 %)."""
    at = [start + timedelta(seconds=s) for s in (0, 40, 70, 95, 160)]
    return [_demo_build(at), _demo_measure(at), _demo_analyze(at), _demo_deploy(at)]


def _demo_build(at: list[datetime]) -> PhaseResult:
    """BUILD with long image references and digests in its checks."""
    build = PhaseResult(
        PhaseName.BUILD,
        PhaseStatus.PASSED,
        checks=[
            _check(
                "build.image",
                "Image built and pushed",
                summary=f"pushed {REPO}@{DIGEST}",
                observed=f"{REPO}:{'e' * 12} {REPO}@{DIGEST} {'f' * 200}",
                evidence={"digest": DIGEST, "layers": [DIGEST] * 6},
                duration_seconds=25.0,
                started_at=at[0] + timedelta(seconds=2),
            ),
            _check(
                "build.tests.integration",
                "Integration tests",
                evidence={"tests": {"total": 12, "passed": 12, "failed": 0, "skipped": 0}},
                duration_seconds=10.0,
                started_at=at[0] + timedelta(seconds=28),
            ),
        ],
        metrics={"image_digest": DIGEST, "vulnerabilities_critical": 0, "vulnerabilities_high": 0},
        artifacts={"image": REPO, "image_ref": f"{REPO}@{DIGEST}"},
        started_at=at[0],
        finished_at=at[1],
    )
    return build


def _demo_measure(at: list[datetime]) -> PhaseResult:
    """MEASURE whose error_ratio baseline is 0."""
    baseline = {**BASELINE, "error_ratio": {**BASELINE["error_ratio"], "value": 0.0, "no_data": False}}
    measure = PhaseResult(
        PhaseName.MEASURE,
        PhaseStatus.PASSED,
        checks=[_check("measure.baseline", "Baseline captured", duration_seconds=20.0, started_at=at[1])],
        artifacts={"baseline": baseline, "load_test": LOAD_TEST},
        started_at=at[1],
        finished_at=at[2],
    )
    return measure


def _demo_analyze(at: list[datetime]) -> PhaseResult:
    """ANALYZE: readiness with a skipped item, a skipped check, a rollback plan."""
    readiness = {
        "readiness_checklist_complete": 93.0,
        "category_scores": {"Testing & QA": 93.0, "Security & Compliance": 88.0, "Reliability": 100.0},
        "counts": {"pass": 40, "fail": 0, "skipped": 3, "not_applicable": 5},
        "items": [
            {
                "id": "SC-044",
                "category": "Security & Compliance",
                "status": "skipped",
                "severity": "high",
                "title": "No unfixed HIGH CVE",
                "reason": "no vulnerability scan recorded by BUILD",
                "fix": "Upgrade the affected packages or base image and rebuild.",
            },
        ],
    }
    analyze = PhaseResult(
        PhaseName.ANALYZE,
        PhaseStatus.PASSED,
        checks=[
            _check("analyze.readiness", "Readiness", duration_seconds=3.0, started_at=at[2] + timedelta(seconds=1)),
            _check("analyze.risk", "Risk", CheckStatus.SKIP, summary="skipped: analyze.rollback_plan did not pass"),
            _check(
                "analyze.readiness.security",
                "Readiness: Security & Compliance",
                CheckStatus.WARN,
                summary="44 pass, 0 fail, 1 skipped",
                fix="SC-044: Upgrade the affected packages or base image and rebuild.",
                evidence={"items": readiness["items"]},
            ),
        ],
        metrics={"readiness_checklist_complete": 93.0},
        artifacts={
            "readiness": readiness,
            "rollback_plan": {
                "service": "hello",
                "environment": "dev",
                "target": "local",
                "first_deployment": False,
                "expected_seconds": 12.0,
                "expected_basis": "median of 3 earlier deployment(s)",
                "commands": ["bmad rollback --env dev"],
                "what": "2 container(s) of hello on the local engine",
                "to": {
                    "image": f"{REPO}@{DIGEST}",
                    "digest": DIGEST,
                    "replicas": 2,
                    "containers": ["hello-1", "hello-2"],
                },
                "verify": ["containers run the snapshot image", "the health endpoint answers 200 on every replica"],
            },
            "snapshot": {"image": f"{REPO}@{DIGEST}", "replicas": 2},
        },
        started_at=at[2],
        finished_at=at[3],
    )
    return analyze


def _demo_deploy(at: list[datetime]) -> PhaseResult:
    """DEPLOY whose verification failed on error_ratio (0.5)."""
    outcome = {"status": "fail", "observed": 0.5, "bound": "<= 0.05", "query": "q", "detail": ""}
    deploy = PhaseResult(
        PhaseName.DEPLOY,
        PhaseStatus.FAILED,
        checks=[
            _check("deploy.rollout", "Rollout", duration_seconds=30.0, started_at=at[3] + timedelta(seconds=1)),
            _check(
                "deploy.verify",
                "Post-deploy verification",
                CheckStatus.FAIL,
                summary="error_ratio 0.5 above bound <= 0.05",
                evidence={"window_seconds": 30, "rounds": [[{"name": "error_ratio", **outcome}]]},
                duration_seconds=30.0,
                started_at=at[3] + timedelta(seconds=32),
            ),
        ],
        metrics={"pods_running": 2, "rolled_back": True},
        started_at=at[3],
        finished_at=at[4],
    )
    return deploy


def record_demo_like(
    ledger: Ledger,
    version: str = "9" * 40,
    reason: str | None = None,
    owner: str | None = None,
    deployer: Deployer | None = None,
) -> Release:
    """Record :func:`demo_like_phases` (DEPLOY rolled back; ``reason`` as its root cause, run by ``owner``,
    ``deployer`` recorded with DEPLOY)."""
    release = Release("hello", "dev", version, commit_time=T0 - timedelta(hours=1))
    ledger.ensure_release(release, created_at=T0)
    phases = demo_like_phases(T0)
    for result in phases[:-1]:
        ledger.record_phase(release, result)
    detected = T0 + timedelta(seconds=150)
    rollback = RollbackInput(
        reason=reason or "post-deploy verification: error_ratio 0.5 above bound <= 0.05",
        detected_at=detected,
        recovered_at=detected + timedelta(seconds=8),
        to_version="8" * 40,
    )
    ledger.record_phase(release, phases[-1], rollback=rollback, owner=owner, deployer=deployer)
    return release
