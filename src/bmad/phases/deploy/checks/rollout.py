"""deploy.rollout: the rollout completes, replicas running and ready (pods_running / pods_failed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult, MetricValue
from bmad.phases.deploy.checks import apply
from bmad.phases.deploy.ports import DeployPorts, now
from bmad.ports.phase import CheckId, PhaseContext
from bmad.ports.target import Diagnosis

CHECK = CheckId("deploy.rollout", "Roll out: replicas running and ready")
NEEDS = (apply.CHECK.id,)


def run(ctx: PhaseContext, ports: DeployPorts) -> CheckResult:
    timeout = ports.config.rollout_timeout_seconds
    state = ports.target.wait_ready(ports.spec, timeout=timeout, progress=ctx.progress, cancel=ctx.cancel)
    ports.state.prober.add(ports.target.endpoints(ports.spec))
    metrics: dict[str, MetricValue] = {"pods_running": state.pods_running, "pods_failed": state.pods_failed}
    evidence: dict[str, Any] = {"rollout": state.to_dict()}
    expected = f"{state.desired} replicas running and ready within {timeout:.0f}s"
    if state.ready:
        return CHECK.passed(
            f"{state.ready_replicas}/{state.desired} ready in {state.seconds:.1f}s",
            expected=expected,
            observed=state.message,
            evidence=evidence,
            metrics=metrics,
        )
    evidence["detected_at"] = now().isoformat()
    diagnoses = _diagnose(ports)
    evidence["diagnosis"] = [d.to_dict() for d in diagnoses]
    return CHECK.failed(
        f"rollout failed ({state.reason or 'not ready'}): {state.message}",
        expected=expected,
        observed=f"{state.ready_replicas}/{state.desired} ready, {state.pods_failed} failed: {state.message}",
        fix=diagnosis_fix(diagnoses),
        evidence=evidence,
        metrics=metrics,
    )


def _diagnose(ports: DeployPorts) -> list[Diagnosis]:
    try:
        return ports.target.diagnose(ports.spec.service, ports.spec.environment)
    except AdapterError as exc:
        return [Diagnosis("diagnosis unavailable", ports.target.kind, [exc.message], [], [])]


def diagnosis_fix(diagnoses: Sequence[Diagnosis]) -> str:
    """The first findings' fixes, as the failed rollout's fix."""
    if not diagnoses:
        return "run 'bmad diagnose' for the target's evidence, then fix and deploy again"
    lines = []
    for found in diagnoses[:3]:
        lines.append(f"{found.symptom} ({found.object}): " + "; ".join(found.fixes[:3]))
    return "\n".join(lines)
