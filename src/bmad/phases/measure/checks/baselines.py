"""``measure.baselines``: each baseline query's value now plus min/avg/max/p95 over a window
(artifact ``baseline``, metric ``baseline_captured``); Kubernetes targets add the per-pod and
per-node tables (``baseline_pods``, ``baseline_nodes``).

Figures are read *as of the phase start* (``MeasurePorts.started_at``), so MEASURE's own load
test never ends up in them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bmad.config.measure import BaselineQuery, default_baselines, kube_baselines, render_query
from bmad.core.errors import Unreachable
from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.measure.baseline_capture import NODE_BREAKDOWN, POD_BREAKDOWN, Baseline, capture, capture_breakdown
from bmad.phases.measure.checks import prometheus
from bmad.phases.measure.service import EnvironmentScope, environment_scope, scrape_job
from bmad.ports.artifacts import MeasureArtifacts, PodOrNodeFigures
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.baselines", "Baseline metrics captured")
NEEDS: tuple[str, ...] = (prometheus.CHECK.id,)
EXCLUSIVE = False

_SEVERITY = {CheckStatus.PASS: 0, CheckStatus.SKIP: 0, CheckStatus.WARN: 1, CheckStatus.FAIL: 2}


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    conf = ctx.config.measure
    values = _query_values(ctx)
    try:
        scope = environment_scope(ctx, ports.prometheus.targets())
        captured = _capture_all(ctx, ports, values, scope)
        pods, nodes = _kube_tables(ctx, ports, values)
    except Unreachable as exc:
        raise prometheus.unreachable(exc, ctx, ports) from None
    handed_on = MeasureArtifacts(
        baseline={b.name: b.figure for b in captured}, baseline_pods=pods, baseline_nodes=nodes
    )
    artifacts = handed_on.to_artifacts()
    tables = {key: value for key, value in artifacts.items() if key != "baseline"}
    at = ports.started_at.isoformat()
    artifact_file = ctx.evidence.write_json("measure/baseline.json", {"at": at, **artifacts})
    with_data = [b for b in captured if not b.figure.no_data and not b.figure.error]
    status = _worst([b.status for b in captured])
    if not with_data and status is CheckStatus.PASS:
        status = CheckStatus.WARN  # nothing captured is never a silent pass
    no_data = [b.name for b in captured if b.figure.no_data]
    return CHECK.result(
        status,
        f"{len(with_data)}/{len(captured)} baseline figures captured"
        + (f"; no data: {', '.join(no_data)}" if no_data else ""),
        expected="a value for every baseline query (no-data policy per query: fail / warn / skip)",
        observed="; ".join(_observed(captured)),
        fix="; ".join(_fixes(captured, values["job"])),
        evidence={
            "at": at,
            "window_seconds": conf.baseline_window_seconds,
            "step_seconds": conf.baseline_step_seconds,
            "baseline": artifacts["baseline"],
            "environment_scope": scope.to_dict(),
            **{key: {"rows": len(rows)} for key, rows in tables.items()},
        },
        evidence_files=(artifact_file,),
        metrics={"baseline_captured": bool(with_data) and not any(b.status is CheckStatus.FAIL for b in captured)},
        artifacts=artifacts,
    )


def baseline_queries(ctx: PhaseContext) -> list[BaselineQuery]:
    """The configured queries (or the defaults), the extra ones, and for Kubernetes targets the
    ``kubectl top`` figures not already named."""
    conf = ctx.config.measure
    queries = list(conf.baselines) if conf.baselines is not None else default_baselines()
    queries += list(conf.extra_baselines)
    if ctx.environment.target.kind == "kubernetes" and conf.kube_baselines:
        known = {q.name for q in queries}
        queries += [q for q in kube_baselines() if q.name not in known]
    return queries


def _query_values(ctx: PhaseContext) -> dict[str, str]:
    """What ``{job}``, ``{rate_window}``, ``{service}``, ``{environment}``, ``{namespace}`` stand for."""
    return {
        "job": scrape_job(ctx),
        "rate_window": ctx.config.measure.rate_window,
        "service": ctx.config.service.name,
        "environment": ctx.environment_name,
        "namespace": ctx.environment.target.kubernetes.namespace or "default",
    }


def _capture_all(
    ctx: PhaseContext, ports: MeasurePorts, values: dict[str, str], scope: EnvironmentScope
) -> list[Baseline]:
    """Every baseline query, its ``job="{job}"`` matchers narrowed to this environment's targets."""
    conf = ctx.config.measure
    return [
        capture(
            ports.prometheus,
            spec,
            query=render_query(scope.scoped_query(spec.query), values),
            policy=spec.no_data or conf.no_data,
            at=ports.started_at,
            window_seconds=conf.baseline_window_seconds,
            step_seconds=conf.baseline_step_seconds,
        )
        for spec in baseline_queries(ctx)
    ]


def _kube_tables(
    ctx: PhaseContext, ports: MeasurePorts, values: dict[str, str]
) -> tuple[PodOrNodeFigures | None, PodOrNodeFigures | None]:
    """The per-pod and per-node tables for Kubernetes targets (None for others)."""
    if ctx.environment.target.kind != "kubernetes" or not ctx.config.measure.kube_baselines:
        return None, None
    at = ports.started_at
    return (
        capture_breakdown(ports.prometheus, POD_BREAKDOWN, values=values, at=at),
        capture_breakdown(ports.prometheus, NODE_BREAKDOWN, values=values, at=at),
    )


def _observed(captured: Sequence[Baseline]) -> list[str]:
    lines = []
    for b in captured:
        figure = b.figure
        if figure.error:
            lines.append(f"{b.name}: query error: {figure.error}")
        elif figure.no_data:
            lines.append(f"{b.name}: NO DATA (policy {figure.no_data_policy})")
        else:
            lines.append(f"{b.name}={_number(figure.value)}{(' ' + figure.unit) if figure.unit else ''}")
        lines += [f"{b.name}: {note}" for note in b.notes]
    return lines


def _fixes(captured: Sequence[Baseline], job: str) -> list[str]:
    fixes = []
    if any(b.figure.error for b in captured):
        fixes.append("fix the PromQL of the failing baseline queries (measure.baselines)")
    if any(b.figure.no_data and b.figure.no_data_policy == "fail" for b in captured):
        fixes.append(
            f"make sure Prometheus scrapes job {job!r} and the service has traffic, or relax the query's no_data policy"
        )
    return fixes


def _worst(statuses: Sequence[CheckStatus]) -> CheckStatus:
    found = CheckStatus.PASS
    for status in statuses:
        if _SEVERITY[status] > _SEVERITY[found]:
            found = status
    return found


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    if value == 0 or 0.001 <= abs(value) < 1e6:
        return f"{value:.4g}"
    return f"{value:.3e}"
