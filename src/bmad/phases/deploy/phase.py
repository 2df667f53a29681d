"""The DEPLOY phase: apply, roll out, smoke-test, cut over, verify — and roll back on failure.

Checks (ids are stable; they name the checks in records), one module each under ``checks``::

    deploy.apply     the release is applied to the target (the image pinned to BUILD's digest)
    deploy.rollout   the rollout completes: replicas running and ready (pods_running / pods_failed)
    deploy.gpu_available  the release's containers see a GPU (listed only where a GPU request can be read)
    deploy.smoke     health 200, metrics parse with the expected names, the service's own suite
    deploy.cutover   the new release serves alone (the old one is stopped but kept)
    deploy.verify    PromQL criteria hold for the verification window (absolute or vs. baseline)
    deploy.autoscaling  under load, each HPA scales from its minimum to the goal in time (when enabled)

:meth:`DeployPhase.finish` adds ``deploy.rollback`` when a check after ``deploy.apply``
failed: it returns the target to the state before this deploy, waits until that version is
healthy and records MTTR (from the failure's detection to the previous version healthy).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bmad.config.deploy import AutoscalingConfig, DeployConfig
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName
from bmad.phases.deploy.checks import apply, autoscaling, cutover, gpu_available, rollout, smoke, verify
from bmad.phases.deploy.ports import DeployPorts, DeployState, now
from bmad.phases.deploy.probes import DowntimeProber
from bmad.phases.deploy.rollback import AUTOMATIC, perform_rollback
from bmad.phases.gpu_scope import gpu_checks_listed
from bmad.ports.artifacts import AnalyzeArtifacts, DeployArtifacts
from bmad.ports.gpu import GpuProbe, PodGpuView
from bmad.ports.loadtest import LoadGenerator
from bmad.ports.metrics import MetricsQuery
from bmad.ports.phase import BasePhase, Check, CheckId, PhaseContext
from bmad.ports.target import AutoscalerWatch, DeploySpec, HttpProbe, SuiteRunner, Target, TargetSnapshot

CheckRun = Callable[[PhaseContext, DeployPorts], CheckResult]
# In order; each needs the one before it.
CHECKS: tuple[tuple[CheckId, tuple[str, ...], CheckRun], ...] = (
    (apply.CHECK, apply.NEEDS, apply.run),
    (rollout.CHECK, rollout.NEEDS, rollout.run),
    (gpu_available.CHECK, gpu_available.NEEDS, gpu_available.run),
    (smoke.CHECK, smoke.NEEDS, smoke.run),
    (cutover.CHECK, cutover.NEEDS, cutover.run),
    (verify.CHECK, verify.NEEDS, verify.run),
    (autoscaling.CHECK, autoscaling.NEEDS, autoscaling.run),
)
# A failure of one of these after the target changed triggers the automatic rollback.
_ROLLBACK_TRIGGERS = (rollout.CHECK.id, gpu_available.CHECK.id, smoke.CHECK.id, cutover.CHECK.id, verify.CHECK.id)


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
        gpu: GpuProbe | None = None,
        pods: PodGpuView | None = None,
        autoscaling: AutoscalingConfig | None = None,
        autoscalers: AutoscalerWatch | None = None,
        load_generator: Callable[[str], LoadGenerator] | None = None,
    ) -> None:
        prober = DowntimeProber(probe, config.health_path, interval=config.probe_interval_seconds)
        self.ports = DeployPorts(
            target=target,
            spec=spec,
            config=config,
            probe=probe,
            state=DeployState(prober),
            suite=suite,
            metrics_query=metrics_query,
            repository_dir=repository_dir,
            job=job or spec.service,
            gpu=gpu,
            pods=pods,
            autoscaling=autoscaling or config.autoscaling,
            autoscalers=autoscalers,
            load_generator=load_generator,
        )

    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        """Every check; ``deploy.gpu_available`` only where a GPU request can be read, ``deploy.autoscaling``
        only when enabled (records without them stay as they were)."""
        gpu_listed = gpu_checks_listed(ctx.config, ctx.environment_name)
        listed = [
            c
            for c in CHECKS
            if (c[0] is not autoscaling.CHECK or self.ports.autoscaling.enabled)
            and (c[0] is not gpu_available.CHECK or gpu_listed)
        ]
        return [Check(check.id, check.title, self._bound(check, run), needs=needs) for check, needs, run in listed]

    def _bound(self, check: CheckId, run: CheckRun) -> Callable[[PhaseContext], CheckResult]:
        def bound(ctx: PhaseContext) -> CheckResult:
            lost = ctx.target_lock.lost() if ctx.target_lock is not None else None
            return run(ctx, self.ports) if lost is None else _lock_lost(check, lost)

        return bound

    # -- finish: automatic rollback ------------------------------------------------------------
    def finish(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> Sequence[CheckResult]:
        self.ports.state.stop_prober()
        failed = [r for r in results if r.id in _ROLLBACK_TRIGGERS and r.status is CheckStatus.FAIL]
        if not failed or not self.ports.state.applied:
            return ()
        first = min(failed, key=lambda r: str(r.evidence.get("detected_at") or "~"))
        reason = f"{first.id}: {first.summary}"
        detected_at = _parse_time(first.evidence.get("detected_at")) or now()
        spec = self.ports.spec
        if ctx.options.no_rollback:
            return [
                AUTOMATIC.skipped(
                    "--no-rollback given: the failed release stays in place",
                    fix=f"roll back by hand: bmad rollback {spec.service} --env {spec.environment}",
                    evidence={"reason": reason},
                )
            ]
        return [self.rollback(ctx, reason=reason, detected_at=detected_at)]

    def rollback(self, ctx: PhaseContext, *, reason: str, detected_at: datetime) -> CheckResult:
        """Back to the snapshot taken before the apply, else to ANALYZE's, else to the previous revision."""
        spec = self.ports.spec
        before = DeployArtifacts.from_artifacts(ctx.artifacts()).previous_snapshot
        analyzed = _analyzed_snapshot(ctx)
        if not (before is not None and before.exists) and not (analyzed is not None and analyzed.exists):
            return AUTOMATIC.failed(
                "first release in this environment: there is no earlier version to return to",
                expected="an earlier version to roll back to",
                observed="nothing ran here before this deploy",
                fix=f"the failed release is left in place for diagnosis: bmad diagnose --env {spec.environment}",
                evidence={"reason": reason},
                metrics={"rolled_back": False},
            )
        ctx.progress.log(f"rolling back {spec.service} in {spec.environment}: {reason}")
        return perform_rollback(
            self.ports.target,
            self.ports.probe,
            service=spec.service,
            environment=spec.environment,
            to=before.to_dict() if before is not None and before.exists else None,
            fallback=analyzed.to_dict() if analyzed is not None else None,
            reason=reason,
            detected_at=detected_at,
            health_path=self.ports.config.health_path,
            manual=False,
            progress=ctx.progress,
            on_done=self._record_rollback,
        )

    def _record_rollback(self, info: dict[str, Any]) -> None:
        self.ports.state.rollback = info

    def metrics(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> dict[str, MetricValue]:
        merged = super().metrics(ctx, results)
        by_id = {r.id: r for r in results}
        state = self.ports.state
        duration = time.monotonic() - state.started if state.started is not None else 0.0
        own = [r for r in results if r.id in (apply.CHECK.id, *_ROLLBACK_TRIGGERS)]
        ok = bool(own) and all(_succeeded(r) for r in own)
        rolled_back = bool(state.rollback and state.rollback.get("recovered_at"))
        downtime = state.downtime
        block: dict[str, MetricValue] = {
            "deployment_duration_seconds": round(duration, 3),
            "pods_running": int(merged.get("pods_running") or 0),
            "pods_failed": int(merged.get("pods_failed") or 0),
            "smoke_tests_passed": int(merged.get("smoke_tests_passed") or 0),
            "smoke_tests_failed": int(merged.get("smoke_tests_failed") or 0),
            "rollout_successful": ok and not rolled_back,
            "rolled_back": rolled_back,
            "mttr_seconds": (state.rollback or {}).get("mttr_seconds") if rolled_back else None,
            "zero_downtime": downtime.zero_downtime if downtime and downtime.probes else None,
            "failed_probes": downtime.failed if downtime else 0,
        }
        rollback_result = by_id.get(AUTOMATIC.id)
        if rollback_result is not None and rollback_result.metrics:
            block.update({k: v for k, v in rollback_result.metrics.items() if k in block})
        return block


def _lock_lost(check: CheckId, lost: str) -> CheckResult:
    """``check`` not run: the target's lock is no longer this run's, so nothing more is done under it."""
    return check.failed(
        f"the target's lock was lost, {check.id} not run: {lost}",
        expected="this run holds the target's lock until DEPLOY ends",
        observed=lost,
        fix="another run deploys this service and environment now: let it finish, then run again",
        evidence={"lock_lost": lost, "detected_at": now().isoformat()},
    )


def _analyzed_snapshot(ctx: PhaseContext) -> TargetSnapshot | None:
    """ANALYZE's rollback point (its ``snapshot`` artifact)."""
    analyzed = AnalyzeArtifacts.of(ctx.previous, PhaseName.ANALYZE)
    record = analyzed.snapshot if analyzed is not None else None
    return TargetSnapshot.from_dict(record) if isinstance(record, dict) else None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _succeeded(result: CheckResult) -> bool:
    """Passed or warned; a GPU check that does not apply (no GPU requested) does not count against."""
    if result.id == gpu_available.CHECK.id and result.status is CheckStatus.SKIP:
        return True
    return result.status in (CheckStatus.PASS, CheckStatus.WARN)
