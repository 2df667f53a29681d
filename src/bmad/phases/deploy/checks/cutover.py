"""deploy.cutover: the new release serves alone (the old one is stopped but kept for a rollback).

Also where the downtime probes stop: zero downtime means a healthy replica answered every probe
from the apply until now.
"""

from __future__ import annotations

from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult, CheckStatus, MetricValue
from bmad.phases.deploy.checks import smoke
from bmad.phases.deploy.ports import DeployPorts, now
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("deploy.cutover", "Cut over: the new release serves alone")
NEEDS = (smoke.CHECK.id,)


def run(ctx: PhaseContext, ports: DeployPorts) -> CheckResult:
    try:
        done = ports.target.cut_over(ports.spec, progress=ctx.progress)
    except AdapterError as exc:
        ports.state.stop_prober()
        return CHECK.failed(
            exc.message,
            fix=exc.hint or "check the target",
            evidence={"error": exc.message, "detected_at": now().isoformat()},
        )
    report = ports.state.stop_prober()
    discovery = done.get("file_sd") if isinstance(done, dict) else None
    ports.state.discovery = discovery if isinstance(discovery, dict) and discovery.get("labels") else None
    metrics: dict[str, MetricValue] = {"zero_downtime": report.zero_downtime, "failed_probes": report.failed}
    return CHECK.result(
        CheckStatus.PASS if report.zero_downtime else CheckStatus.WARN,
        (
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
