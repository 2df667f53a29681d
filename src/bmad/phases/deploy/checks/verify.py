"""deploy.verify: PromQL criteria hold for the verification window (absolute or vs. MEASURE's baseline).

With file-based discovery the check first waits until Prometheus scrapes the new replicas, and
judges only their series (labelled with environment and release); traffic is sent meanwhile
when ``traffic_path`` is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bmad.config.deploy import VerificationConfig
from bmad.core.datatypes import datatype
from bmad.core.models import CheckResult, PhaseName
from bmad.phases.deploy.checks import cutover
from bmad.phases.deploy.ports import DeployPorts, now
from bmad.phases.deploy.probes import TrafficGenerator
from bmad.phases.deploy.verify import (
    FAIL,
    Baseline,
    CriterionOutcome,
    VerificationResult,
    verify_window,
    wait_discovered,
)
from bmad.ports.artifacts import MeasureArtifacts
from bmad.ports.metrics import MetricsQuery
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("deploy.verify", "Post-deploy verification window")
NEEDS = (cutover.CHECK.id,)


@datatype(frozen=True)
class _Window:
    """One verification window: its result, the traffic sent, what discovery and scope it used."""

    result: VerificationResult
    traffic: TrafficGenerator
    discovered: dict[str, Any] | None
    scope: dict[str, str] | None


def run(ctx: PhaseContext, ports: DeployPorts) -> CheckResult:
    cfg = ports.config.verification
    if not cfg.enabled or not cfg.criteria:
        return CHECK.warned(
            "no verification criteria configured",
            expected="PromQL criteria evaluated over the window",
            observed="none configured" if cfg.enabled else "verification disabled",
            fix="add deploy.verification.criteria (e.g. error rate <= baseline + 0.01, p95 <= baseline x 1.2)",
        )
    if ports.metrics_query is None:
        return CHECK.failed(
            "no metrics store to verify against",
            fix="set environments.<env>.monitoring.prometheus_url",
            evidence={"detected_at": now().isoformat()},
        )
    measured = MeasureArtifacts.of(ctx.previous, PhaseName.MEASURE)
    baseline: Baseline = baseline_figures(measured)
    window = _run_window(ctx, ports, ports.metrics_query, baseline)
    return _judge(cfg, window, _evidence(cfg, baseline, window))


def _run_window(ctx: PhaseContext, ports: DeployPorts, metrics_query: MetricsQuery, baseline: Baseline) -> _Window:
    cfg = ports.config.verification
    urls = ports.target.serving_endpoints(ports.spec.service, ports.spec.environment)
    task = ctx.progress.task(f"verifying for {cfg.window_seconds:.0f}s", total=cfg.window_seconds)

    def on_round(number: int, total: int, outcomes: Sequence[CriterionOutcome]) -> None:
        bad = [o.name for o in outcomes if o.status == FAIL]
        task.update(
            f"round {number}/{total}" + (f": failing {', '.join(bad)}" if bad else ""),
            completed=number * cfg.interval_seconds,
        )

    discovered = _wait_discovered(ctx, ports, metrics_query)
    traffic = TrafficGenerator(
        ports.probe, urls if cfg.traffic_path else [], cfg.traffic_path or "/", rps=cfg.traffic_rps
    )
    # With file-based discovery every series of the new replicas carries environment and release:
    # judge those, not whatever the rate window still holds of the previous release.
    scope = None
    discovery = ports.state.discovery
    if discovery is not None and cfg.scope_to_release:
        scope = {k: str(v) for k, v in discovery["labels"].items() if k in ("environment", "release")}
    with traffic:
        result = verify_window(
            metrics_query,
            cfg,
            baseline,
            variables=_variables(ctx, ports),
            scope=scope,
            cancel=ctx.cancel,
            on_round=on_round,
        )
    task.done()
    return _Window(result, traffic, discovered, scope)


def _variables(ctx: PhaseContext, ports: DeployPorts) -> dict[str, str]:
    """What the criteria's queries may name: $service, $environment, $job, $namespace, $rate_window."""
    return {
        "service": ports.spec.service,
        "environment": ports.spec.environment,
        "job": ports.job,
        "namespace": str(ctx.environment.target.kubernetes.namespace or ""),
        "rate_window": "1m",
    }


def _wait_discovered(ctx: PhaseContext, ports: DeployPorts, metrics_query: MetricsQuery) -> dict[str, Any] | None:
    """When the cut-over rewrote Prometheus' discovery file: wait until the new replicas are scraped,
    or the window would judge the previous release's (or no) series."""
    discovery = ports.state.discovery
    if discovery is None:
        return None
    ctx.progress.log("waiting until Prometheus scrapes the new replicas (file_sd)")
    discovered = wait_discovered(
        metrics_query,
        labels=discovery["labels"],
        replicas=len(discovery.get("targets") or []),
        timeout=ports.discovery_timeout,
        cancel=ctx.cancel,
    )
    discovered["file"] = discovery.get("path")
    return discovered


def _evidence(cfg: VerificationConfig, baseline: Baseline, window: _Window) -> dict[str, Any]:
    return {
        "discovery": window.discovered
        if window.discovered is not None
        else "no discovery file written by the target (static scrape configuration assumed)",
        "scope": window.scope or "every series of the job (no release labels from the target)",
        "rounds": window.result.summary(),
        "baseline_used": {c.baseline: _figure_dict(baseline, c.baseline) for c in cfg.criteria if c.baseline},
        "traffic": {"sent": window.traffic.sent, "errors": window.traffic.errors, "path": cfg.traffic_path},
    }


def _judge(cfg: VerificationConfig, window: _Window, evidence: dict[str, Any]) -> CheckResult:
    result = window.result
    expected = "; ".join(f"{c.name}: {c.query or 'baseline ' + str(c.baseline)}" for c in cfg.criteria)
    if result.failed is not None:
        failed = result.failed
        evidence["detected_at"] = (result.detected_at or now()).isoformat()
        return CHECK.failed(
            f"{failed.name} failed: {failed.detail} (bound {failed.bound})",
            expected=expected,
            observed=f"{failed.name} = {failed.observed}",
            fix="the release regressed against its criteria; it is rolled back automatically "
            "(see 'bmad diagnose' for high latency or errors)",
            evidence=evidence,
        )
    if result.cancelled:
        return CHECK.failed("verification cancelled", evidence={**evidence, "detected_at": now().isoformat()})
    warns = result.warnings
    summary = f"{len(cfg.criteria)} criteria held for {len(result.rounds)} rounds" + (
        f"; {len(warns)} warning(s): {warns[0].name}: {warns[0].detail}" if warns else ""
    )
    return (CHECK.warned if warns else CHECK.passed)(
        summary + _discovery_note(window.discovered),
        expected=expected,
        observed="all within bounds" if not warns else "within bounds, with no-data warnings",
        evidence=evidence,
    )


def _discovery_note(discovered: dict[str, Any] | None) -> str:
    if discovered is None:
        return ""
    if discovered.get("ok"):
        return f"; new replicas scraped by Prometheus {discovered['seconds']:.1f}s after cut-over (file_sd)"
    return (
        f"; Prometheus had scraped only {discovered['observed']}/{discovered['expected']} new replica(s) "
        f"after {discovered['seconds']:.0f}s"
    )


def _figure_dict(baseline: Baseline, name: str) -> dict[str, Any] | None:
    figure = baseline.get(name)
    return figure.to_dict() if figure is not None else None


def baseline_figures(measured: MeasureArtifacts | None) -> Baseline:
    """MEASURE's baseline figures by name, the per-GPU ones (``gpu0_temperature``, ...) included."""
    if measured is None:
        return {}
    return {**(measured.gpu_baseline or {}), **(measured.baseline or {})}
