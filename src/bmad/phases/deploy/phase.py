"""The DEPLOY phase: apply, roll out, smoke-test, cut over, verify — and roll back on failure.

Checks (ids are stable; they name the checks in records)::

    deploy.apply     the release is applied to the target (the image pinned to BUILD's digest)
    deploy.rollout   the rollout completes: replicas running and ready (pods_running / pods_failed)
    deploy.smoke     health 200, metrics parse with the expected names, the service's own suite
    deploy.cutover   the new release serves alone (the old one is stopped but kept)
    deploy.verify    PromQL criteria hold for the verification window (absolute or vs. baseline)

:meth:`DeployPhase.finish` adds ``deploy.rollback`` when a check after ``deploy.apply``
failed: it returns the target to the state before this deploy, waits until that version is
healthy and records MTTR (from the failure's detection to the previous version healthy).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bmad.config.deploy import DeployConfig
from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName
from bmad.phases.deploy.probes import DowntimeProber, DowntimeReport, TrafficGenerator
from bmad.phases.deploy.smoke import SmokeReport, check_health, check_metrics, run_suite
from bmad.phases.deploy.verify import FAIL, verify_window, wait_discovered
from bmad.ports.metrics import MetricsQuery
from bmad.ports.phase import BasePhase, Check, PhaseContext
from bmad.ports.target import DeploySpec, Diagnosis, HttpProbe, RolloutState, SuiteRunner, Target

APPLY, ROLLOUT, SMOKE, CUTOVER, VERIFY, ROLLBACK = (
    "deploy.apply",
    "deploy.rollout",
    "deploy.smoke",
    "deploy.cutover",
    "deploy.verify",
    "deploy.rollback",
)
# A failure of one of these after the target changed triggers the automatic rollback.
_ROLLBACK_TRIGGERS = (ROLLOUT, SMOKE, CUTOVER, VERIFY)


def _now() -> datetime:
    return datetime.now(UTC)


def diagnosis_fix(diagnoses: Sequence[Diagnosis]) -> str:
    if not diagnoses:
        return "run 'bmad diagnose' for the target's evidence, then fix and deploy again"
    lines = []
    for found in diagnoses[:3]:
        lines.append(f"{found.symptom} ({found.object}): " + "; ".join(found.fixes[:3]))
    return "\n".join(lines)


class DeployPhase(BasePhase):
    name = PhaseName.DEPLOY

    def __init__(
        self,
        *,
        target: Target,
        spec: DeploySpec,
        config: DeployConfig,
        probe: HttpProbe,
        suite: SuiteRunner | None = None,
        metrics_query: MetricsQuery | None = None,
        repository_dir: str = ".",
        job: str | None = None,
    ) -> None:
        self.target = target
        self.spec = spec
        self.config = config
        self.probe = probe
        self.suite = suite
        self.metrics_query = metrics_query
        self.repository_dir = repository_dir
        self.job = job or spec.service
        self.prober = DowntimeProber(probe, config.health_path, interval=config.probe_interval_seconds)
        self._started: float | None = None
        self._applied = False
        self._downtime: DowntimeReport | None = None
        self._rollback: dict[str, Any] | None = None
        self._discovery: dict[str, Any] | None = None  # the file_sd target group the cut-over wrote
        self.discovery_timeout = 20.0

    # -- checks ---------------------------------------------------------------------------------
    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        return [
            Check(APPLY, "Apply the release to the target", self._apply),
            Check(ROLLOUT, "Roll out: replicas running and ready", self._rollout, needs=(APPLY,)),
            Check(SMOKE, "Smoke tests: health, metrics, smoke suite", self._smoke, needs=(ROLLOUT,)),
            Check(CUTOVER, "Cut over: the new release serves alone", self._cutover, needs=(SMOKE,)),
            Check(VERIFY, "Post-deploy verification window", self._verify, needs=(CUTOVER,)),
        ]

    def _apply(self, ctx: PhaseContext) -> CheckResult:
        self._started = time.monotonic()
        spec = self.spec
        title = "Apply the release to the target"
        before = self.target.snapshot(spec.service, spec.environment)
        self.prober.add(self.target.serving_endpoints(spec.service, spec.environment))
        self.prober.start()
        ctx.progress.log(f"deploying {spec.pinned_image} to {self.target.kind} ({spec.environment})")
        try:
            applied = self.target.apply(spec, progress=ctx.progress)
        except AdapterError as exc:
            return CheckResult(
                id=APPLY,
                title=title,
                status=CheckStatus.FAIL,
                summary=f"could not apply: {exc.message}",
                expected=f"{spec.pinned_image} applied to {self.target.kind}",
                observed=exc.message,
                fix=exc.hint or "check the target is reachable and the image digest exists in the registry",
                evidence={"error": exc.message, "detected_at": _now().isoformat(), "before": before},
                artifacts={"previous_snapshot": before},
            )
        missing = applied.get("missing_secrets") or []
        artifacts = {
            "previous_snapshot": before,
            "image": spec.image,
            "digest": spec.digest,
            "image_ref": spec.pinned_image,
            "release": spec.version,
            "target": self.target.kind,
            "applied": applied,
        }
        if missing:
            return CheckResult(
                id=APPLY,
                title=title,
                status=CheckStatus.FAIL,
                summary=f"secret(s) referenced but missing in the target: {', '.join(missing)}",
                expected="every Secret the bundle references exists with the referenced keys",
                observed=f"missing: {', '.join(missing)}",
                fix="create the secrets in the target (bmad never invents secret values), then deploy again",
                evidence={"applied": applied, "detected_at": _now().isoformat()},
                artifacts={"previous_snapshot": before},
            )
        self._applied = True
        return CheckResult(
            id=APPLY,
            title=title,
            status=CheckStatus.PASS,
            summary=("adopted the running release" if applied.get("adopted") else f"applied {spec.pinned_image}"),
            expected=f"{spec.pinned_image} applied",
            observed=str(applied.get("summary") or applied.get("generation") or "applied"),
            evidence={"applied": applied, "before": before},
            artifacts=artifacts,
        )

    def _rollout(self, ctx: PhaseContext) -> CheckResult:
        timeout = self.config.rollout_timeout_seconds
        state = self.target.wait_ready(self.spec, timeout=timeout, progress=ctx.progress, cancel=ctx.cancel)
        self.prober.add(self.target.endpoints(self.spec))
        metrics: dict[str, MetricValue] = {"pods_running": state.pods_running, "pods_failed": state.pods_failed}
        evidence: dict[str, Any] = {"rollout": state.to_dict()}
        if state.ready:
            return CheckResult(
                id=ROLLOUT,
                title="Roll out: replicas running and ready",
                status=CheckStatus.PASS,
                summary=f"{state.ready_replicas}/{state.desired} ready in {state.seconds:.1f}s",
                expected=f"{state.desired} replicas running and ready within {timeout:.0f}s",
                observed=state.message,
                evidence=evidence,
                metrics=metrics,
            )
        evidence["detected_at"] = _now().isoformat()
        diagnoses = self._diagnose()
        evidence["diagnosis"] = [d.to_dict() for d in diagnoses]
        return CheckResult(
            id=ROLLOUT,
            title="Roll out: replicas running and ready",
            status=CheckStatus.FAIL,
            summary=f"rollout failed ({state.reason or 'not ready'}): {state.message}",
            expected=f"{state.desired} replicas running and ready within {timeout:.0f}s",
            observed=f"{state.ready_replicas}/{state.desired} ready, {state.pods_failed} failed: {state.message}",
            fix=diagnosis_fix(diagnoses),
            evidence=evidence,
            metrics=metrics,
        )

    def _diagnose(self) -> list[Diagnosis]:
        try:
            return self.target.diagnose(self.spec.service, self.spec.environment)
        except AdapterError as exc:
            return [Diagnosis("diagnosis unavailable", self.target.kind, [exc.message], [], [])]

    def _smoke(self, ctx: PhaseContext) -> CheckResult:
        title = "Smoke tests: health, metrics, smoke suite"
        urls = self.target.endpoints(self.spec)
        smoke = self.config.smoke
        if not urls:
            return CheckResult(
                id=SMOKE,
                title=title,
                status=CheckStatus.WARN,
                summary="no URL to smoke-test",
                expected="a base URL for the service",
                observed="the target has no reachable endpoint",
                fix="set environments.<env>.target.kubernetes.url (ingress or port-forward URL)",
                metrics={"smoke_tests_passed": 0, "smoke_tests_failed": 0},
            )
        report = SmokeReport()
        for url in urls:
            report.cases.append(
                check_health(self.probe, url, self.config.health_path, timeout=smoke.health_timeout_seconds)
            )
            report.cases.append(check_metrics(self.probe, url, self.config.metrics_path, smoke.expected_metrics))
        suite_evidence = None
        if smoke.command and self.suite is not None:
            cases, suite_evidence = run_suite(
                self.suite,
                smoke,
                urls[0],
                cwd=self.repository_dir,
                extra_env={"BMAD_ENVIRONMENT": self.spec.environment},
            )
            report.cases.extend(cases)
        metrics: dict[str, MetricValue] = {"smoke_tests_passed": report.passed, "smoke_tests_failed": report.failed}
        evidence: dict[str, Any] = {
            "cases": [c.__dict__ for c in report.cases],
            "suite": suite_evidence,
            "urls": urls,
        }
        total = len(report.cases)
        if report.failed:
            evidence["detected_at"] = _now().isoformat()
            first = report.failures()[0]
            return CheckResult(
                id=SMOKE,
                title=title,
                status=CheckStatus.FAIL,
                summary=f"{report.failed}/{total} smoke tests failed; first: {first.name}: {first.detail}",
                expected=f"{total}/{total} smoke tests pass",
                observed=f"{report.passed}/{total} passed",
                fix="fix the failing smoke tests' cause (see evidence); the release was not cut over",
                evidence=evidence,
                metrics=metrics,
            )
        return CheckResult(
            id=SMOKE,
            title=title,
            status=CheckStatus.PASS,
            summary=f"{report.passed}/{total} smoke tests passed",
            expected=f"{total}/{total} smoke tests pass",
            observed=f"{report.passed}/{total} passed",
            evidence=evidence,
            metrics=metrics,
        )

    def _cutover(self, ctx: PhaseContext) -> CheckResult:
        try:
            done = self.target.cut_over(self.spec, progress=ctx.progress)
        except AdapterError as exc:
            self._stop_prober()
            return CheckResult(
                id=CUTOVER,
                title="Cut over: the new release serves alone",
                status=CheckStatus.FAIL,
                summary=exc.message,
                fix=exc.hint or "check the target",
                evidence={"error": exc.message, "detected_at": _now().isoformat()},
            )
        report = self._stop_prober()
        discovery = done.get("file_sd") if isinstance(done, dict) else None
        self._discovery = discovery if isinstance(discovery, dict) and discovery.get("labels") else None
        metrics: dict[str, MetricValue] = {"zero_downtime": report.zero_downtime, "failed_probes": report.failed}
        return CheckResult(
            id=CUTOVER,
            title="Cut over: the new release serves alone",
            status=CheckStatus.PASS if report.zero_downtime else CheckStatus.WARN,
            summary=(
                f"zero downtime over {report.probes} probes"
                if report.zero_downtime
                else f"{report.failed} of {report.probes} probes found no healthy replica "
                f"(longest gap {report.longest_gap_seconds:.1f}s)"
            ),
            expected="at least one healthy replica at every probe during the update",
            observed=f"{report.failed} failed probes",
            fix="" if report.zero_downtime else "start more replicas or lengthen readiness checks before cut-over",
            evidence={"cutover": done, "downtime": report.__dict__},
            metrics=metrics,
        )

    def _stop_prober(self) -> DowntimeReport:
        if self._downtime is None:
            self._downtime = self.prober.stop()
        return self._downtime

    def _verify(self, ctx: PhaseContext) -> CheckResult:
        title = "Post-deploy verification window"
        cfg = self.config.verification
        if not cfg.enabled or not cfg.criteria:
            return CheckResult(
                id=VERIFY,
                title=title,
                status=CheckStatus.WARN,
                summary="no verification criteria configured",
                expected="PromQL criteria evaluated over the window",
                observed="none configured" if cfg.enabled else "verification disabled",
                fix="add deploy.verification.criteria (e.g. error rate <= baseline + 0.01, p95 <= baseline x 1.2)",
            )
        if self.metrics_query is None:
            return CheckResult(
                id=VERIFY,
                title=title,
                status=CheckStatus.FAIL,
                summary="no metrics store to verify against",
                fix="set environments.<env>.monitoring.prometheus_url",
                evidence={"detected_at": _now().isoformat()},
            )
        baseline = ctx.previous_artifact(PhaseName.MEASURE, "baseline") or {}
        variables = {
            "service": self.spec.service,
            "environment": self.spec.environment,
            "job": self.job,
            "namespace": str(ctx.environment.target.kubernetes.namespace or ""),
            "rate_window": "1m",
        }
        urls = self.target.serving_endpoints(self.spec.service, self.spec.environment)
        task = ctx.progress.task(f"verifying for {cfg.window_seconds:.0f}s", total=cfg.window_seconds)

        def on_round(number: int, total: int, outcomes: Sequence[Any]) -> None:
            bad = [o.name for o in outcomes if o.status == FAIL]
            task.update(
                f"round {number}/{total}" + (f": failing {', '.join(bad)}" if bad else ""),
                completed=number * cfg.interval_seconds,
            )

        discovered: dict[str, Any] | None = None
        if self._discovery is not None:
            # The cut-over rewrote Prometheus' discovery file: wait until the new replicas are
            # scraped, or the window would judge the previous release's (or no) series.
            ctx.progress.log("waiting until Prometheus scrapes the new replicas (file_sd)")
            discovered = wait_discovered(
                self.metrics_query,
                labels=self._discovery["labels"],
                replicas=len(self._discovery.get("targets") or []),
                timeout=self.discovery_timeout,
                cancel=ctx.cancel,
            )
            discovered["file"] = self._discovery.get("path")
        traffic = TrafficGenerator(
            self.probe, urls if cfg.traffic_path else [], cfg.traffic_path or "/", rps=cfg.traffic_rps
        )
        # With file-based discovery every series of the new replicas carries environment and release:
        # judge those, not whatever the rate window still holds of the previous release.
        scope = None
        if self._discovery is not None and cfg.scope_to_release:
            scope = {k: str(v) for k, v in self._discovery["labels"].items() if k in ("environment", "release")}
        with traffic:
            result = verify_window(
                self.metrics_query,
                cfg,
                baseline,
                variables=variables,
                scope=scope,
                cancel=ctx.cancel,
                on_round=on_round,
            )
        task.done()
        evidence: dict[str, Any] = {
            "discovery": discovered
            if discovered is not None
            else "no discovery file written by the target (static scrape configuration assumed)",
            "scope": scope or "every series of the job (no release labels from the target)",
            "rounds": result.summary(),
            "baseline_used": {c.baseline: baseline.get(c.baseline) for c in cfg.criteria if c.baseline},
            "traffic": {"sent": traffic.sent, "errors": traffic.errors, "path": cfg.traffic_path},
        }
        expected = "; ".join(f"{c.name}: {c.query or 'baseline ' + str(c.baseline)}" for c in cfg.criteria)
        if result.failed is not None:
            failed = result.failed
            evidence["detected_at"] = (result.detected_at or _now()).isoformat()
            return CheckResult(
                id=VERIFY,
                title=title,
                status=CheckStatus.FAIL,
                summary=f"{failed.name} failed: {failed.detail} (bound {failed.bound})",
                expected=expected,
                observed=f"{failed.name} = {failed.observed}",
                fix="the release regressed against its criteria; it is rolled back automatically "
                "(see 'bmad diagnose' for high latency or errors)",
                evidence=evidence,
            )
        if result.cancelled:
            return CheckResult(
                id=VERIFY,
                title=title,
                status=CheckStatus.FAIL,
                summary="verification cancelled",
                evidence={**evidence, "detected_at": _now().isoformat()},
            )
        warns = result.warnings
        return CheckResult(
            id=VERIFY,
            title=title,
            status=CheckStatus.WARN if warns else CheckStatus.PASS,
            summary=(
                f"{len(cfg.criteria)} criteria held for {len(result.rounds)} rounds"
                + (f"; {len(warns)} warning(s): {warns[0].name}: {warns[0].detail}" if warns else "")
                + _discovery_note(discovered)
            ),
            expected=expected,
            observed="all within bounds" if not warns else "within bounds, with no-data warnings",
            evidence=evidence,
        )

    # -- finish: automatic rollback ------------------------------------------------------------
    def finish(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> Sequence[CheckResult]:
        self._stop_prober()
        failed = [r for r in results if r.id in _ROLLBACK_TRIGGERS and r.status is CheckStatus.FAIL]
        if not failed or not self._applied:
            return ()
        first = min(failed, key=lambda r: str(r.evidence.get("detected_at") or "~"))
        reason = f"{first.id}: {first.summary}"
        detected_at = _parse_time(first.evidence.get("detected_at")) or _now()
        if ctx.options.get("no_rollback"):
            return [
                CheckResult(
                    id=ROLLBACK,
                    title="Automatic rollback",
                    status=CheckStatus.SKIP,
                    summary="--no-rollback given: the failed release stays in place",
                    fix=f"roll back by hand: bmad rollback {self.spec.service} --env {self.spec.environment}",
                    evidence={"reason": reason},
                )
            ]
        return [self.rollback(ctx, reason=reason, detected_at=detected_at)]

    def rollback(self, ctx: PhaseContext, *, reason: str, detected_at: datetime) -> CheckResult:
        before = ctx.artifact("previous_snapshot") or {}
        analyzed = ctx.previous_artifact(PhaseName.ANALYZE, "snapshot")
        if not before.get("exists") and not (isinstance(analyzed, dict) and analyzed.get("exists")):
            return CheckResult(
                id=ROLLBACK,
                title="Automatic rollback",
                status=CheckStatus.FAIL,
                summary="first release in this environment: there is no earlier version to return to",
                expected="an earlier version to roll back to",
                observed="nothing ran here before this deploy",
                fix=f"the failed release is left in place for diagnosis: bmad diagnose --env {self.spec.environment}",
                evidence={"reason": reason},
                metrics={"rolled_back": False},
            )
        to = before if before.get("exists") else None
        ctx.progress.log(f"rolling back {self.spec.service} in {self.spec.environment}: {reason}")
        return perform_rollback(
            self.target,
            self.probe,
            service=self.spec.service,
            environment=self.spec.environment,
            to=to,
            fallback=analyzed if isinstance(analyzed, dict) else None,
            reason=reason,
            detected_at=detected_at,
            health_path=self.config.health_path,
            manual=False,
            ctx=ctx,
            on_done=self._record_rollback,
        )

    def _record_rollback(self, info: dict[str, Any]) -> None:
        self._rollback = info

    def metrics(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> dict[str, MetricValue]:
        merged = super().metrics(ctx, results)
        by_id = {r.id: r for r in results}
        duration = time.monotonic() - self._started if self._started is not None else 0.0
        own = [r for r in results if r.id in (APPLY, *_ROLLBACK_TRIGGERS)]
        ok = bool(own) and all(r.status in (CheckStatus.PASS, CheckStatus.WARN) for r in own)
        rolled_back = bool(self._rollback and self._rollback.get("recovered_at"))
        downtime = self._downtime
        block: dict[str, MetricValue] = {
            "deployment_duration_seconds": round(duration, 3),
            "pods_running": int(merged.get("pods_running") or 0),
            "pods_failed": int(merged.get("pods_failed") or 0),
            "smoke_tests_passed": int(merged.get("smoke_tests_passed") or 0),
            "smoke_tests_failed": int(merged.get("smoke_tests_failed") or 0),
            "rollout_successful": ok and not rolled_back,
            "rolled_back": rolled_back,
            "mttr_seconds": (self._rollback or {}).get("mttr_seconds") if rolled_back else None,
            "zero_downtime": downtime.zero_downtime if downtime and downtime.probes else None,
            "failed_probes": downtime.failed if downtime else 0,
        }
        if ROLLBACK in by_id and by_id[ROLLBACK].metrics:
            block.update({k: v for k, v in by_id[ROLLBACK].metrics.items() if k in block})
        return block


def _discovery_note(discovered: dict[str, Any] | None) -> str:
    if discovered is None:
        return ""
    if discovered.get("ok"):
        return f"; new replicas scraped by Prometheus {discovered['seconds']:.1f}s after cut-over (file_sd)"
    return (
        f"; Prometheus had scraped only {discovered['observed']}/{discovered['expected']} new replica(s) "
        f"after {discovered['seconds']:.0f}s"
    )


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def perform_rollback(
    target: Target,
    probe: HttpProbe,
    *,
    service: str,
    environment: str,
    to: dict[str, Any] | None,
    fallback: dict[str, Any] | None,
    reason: str,
    detected_at: datetime,
    health_path: str,
    manual: bool,
    ctx: PhaseContext | None = None,
    on_done: Any = None,
    progress: Any = None,
    fall_back_to_previous: bool = True,
) -> CheckResult:
    """Roll back, wait until the previous version answers its health check, record MTTR.

    Shared by the automatic path (DEPLOY's finish) and ``bmad rollback`` (manual=True).
    """
    title = "Manual rollback" if manual else "Automatic rollback"
    progress = progress if progress is not None else (ctx.progress if ctx is not None else None)
    if progress is None:
        from bmad.ports.progress import NullProgress

        progress = NullProgress()
    attempts: list[dict[str, Any] | None] = [to]
    if fallback and fallback.get("exists") and fallback != to:
        attempts.append(fallback)
    if to is not None and fall_back_to_previous:
        attempts.append(None)  # finally, the previous revision / generation
    errors: list[str] = []
    state: RolloutState | None = None
    used: dict[str, Any] | None = None
    rollback_started = _now()
    for attempt in attempts:
        rollback_started = _now()
        try:
            state = target.rollback(service, environment, to=attempt, progress=progress)
        except AdapterError as exc:
            errors.append(exc.message)
            continue
        used = attempt
        break
    info: dict[str, Any] = {
        "reason": reason,
        "detected_at": detected_at.isoformat(),
        "recovered_at": None,
        "to_version": (used or {}).get("release") or (used or {}).get("version"),
        "manual": manual,
    }
    if state is None or not state.ready:
        info["error"] = "; ".join(errors) or (state.message if state else "no rollback target")
        if on_done is not None:
            on_done(info)
        return CheckResult(
            id=ROLLBACK,
            title=title,
            status=CheckStatus.FAIL,
            summary=f"rollback failed: {info['error']}",
            expected="the previous version healthy again",
            observed=info["error"],
            fix="restore by hand: deploy the last good version explicitly; see 'bmad diagnose'",
            evidence={"rollback": info, "state": state.to_dict() if state else None},
            artifacts={"rollback": info},
            metrics={"rolled_back": False},
        )
    healthy_urls = target.serving_endpoints(service, environment)
    deadline = time.monotonic() + 30.0
    while healthy_urls and time.monotonic() < deadline:
        if any(probe.get(url + health_path, timeout=1.0).ok for url in healthy_urls):
            break
        time.sleep(0.05)
    recovered = _now()
    if state.seconds > 0:
        # The target measured when the previous version became healthy; clean-up of the failed
        # release after that point is not downtime.
        recovered = min(recovered, rollback_started + timedelta(seconds=state.seconds))
    mttr = max(0.0, (recovered - detected_at).total_seconds())
    info["recovered_at"] = recovered.isoformat()
    info["mttr_seconds"] = round(mttr, 3)
    if info["to_version"] is None:
        snap = target.snapshot(service, environment)
        info["to_version"] = snap.get("release")
    if on_done is not None:
        on_done(info)
    return CheckResult(
        id=ROLLBACK,
        title=title,
        status=CheckStatus.PASS,
        summary=f"rolled back to {str(info['to_version'] or 'the previous version')[:12]}; MTTR {mttr:.1f}s",
        expected="the previous version healthy again",
        observed=state.message,
        evidence={"rollback": info, "state": state.to_dict(), "errors": errors},
        artifacts={"rollback": {k: info[k] for k in ("reason", "detected_at", "recovered_at", "to_version", "manual")}},
        metrics={"rolled_back": True, "mttr_seconds": round(mttr, 3)},
    )
