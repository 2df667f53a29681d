"""deploy.autoscaling: under load, each HPA of the release scales from its minimum to the goal in time.

Listed when ``deploy.autoscaling.enabled`` (or the environment's ``target.kubernetes.autoscaling``)
is true; skipped when the bundle has no HorizontalPodAutoscaler. bmad's load generator sends GETs to the
release's URL while the HPAs' status is polled; the evidence keeps replicas and requests per second
over time (the report charts them), the time to the first scale-up, the highest count reached and
the target metric's value. On the local target there is no HPA: the check says it does not apply.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bmad.config.deploy import AutoscalingConfig
from bmad.core.datatypes import datatype
from bmad.core.models import CheckResult, MetricValue
from bmad.phases.deploy.autoscaling_watch import (
    LoadDriver,
    ReplicaSample,
    WatchLimits,
    settle_floors,
    watch_autoscalers,
)
from bmad.phases.deploy.checks import cutover
from bmad.phases.deploy.ports import DeployPorts
from bmad.ports.phase import CheckId, PhaseContext
from bmad.ports.target import AutoscalerStatus, AutoscalerWatch

CHECK = CheckId("deploy.autoscaling", "Auto-scaling validated under load")
NEEDS = (cutover.CHECK.id,)


@datatype(frozen=True)
class ScalingFigures:
    """What one HPA did under the load."""

    hpa: str
    workload: str
    min_replicas: int
    max_replicas: int
    goal: int
    start_replicas: int
    first_scale_up_seconds: float | None  # when the HPA first asked for more replicas than at the start
    goal_reached_seconds: float | None
    highest_replicas: int
    metric: str
    metric_target: float | None
    metric_last: float | None
    metric_peak: float | None

    def passed(self, config: AutoscalingConfig) -> bool:
        up = self.first_scale_up_seconds
        return up is not None and up <= config.first_scale_up_within_seconds and self.goal_reached_seconds is not None

    def describe(self) -> str:
        up = "never" if self.first_scale_up_seconds is None else f"after {self.first_scale_up_seconds:.1f}s"
        above = " (started above its minimum)" if self.start_replicas > self.min_replicas else ""
        metric = (
            f"{self.metric} {_num(self.metric_last)} (peak {_num(self.metric_peak)}, target {_num(self.metric_target)})"
        )
        return (
            f"{self.hpa}: {self.start_replicas}->{self.highest_replicas} replicas (goal {self.goal}, "
            f"min {self.min_replicas}, max {self.max_replicas}){above}, first scale-up {up}, {metric}"
        )


def run(ctx: PhaseContext, ports: DeployPorts) -> CheckResult:
    config = ports.autoscaling
    if ports.autoscalers is None or ports.load_generator is None:
        return CHECK.skipped(f"does not apply on the {ports.target.kind} target: it has no HorizontalPodAutoscaler")
    watch = ports.autoscalers
    hpas = settle_floors(lambda: watch.autoscalers(ports.spec), WatchLimits.of(config), cancel=ctx.cancel)
    if not hpas:
        return CHECK.skipped("the bundle has no HorizontalPodAutoscaler")
    urls = ports.target.endpoints(ports.spec)
    if not urls:
        return CHECK.failed(
            "no URL to send the load to",
            expected="the release's URL",
            observed="target.kubernetes.url is not set",
            fix="set target.kubernetes.url (an ingress or a port-forward) or disable deploy.autoscaling",
        )
    goals = {h.name: config.min_replicas_reached or h.max_replicas for h in hpas}
    ctx.progress.log(f"autoscaling: load on {urls[0]} while watching {', '.join(sorted(goals))}")
    url = urls[0].rstrip("/") + config.load.path
    driver = LoadDriver(
        ports.load_generator(url), url, config.load.connections, config.load.duration_seconds or config.max_wait_seconds
    )
    samples = _under_load(ctx, ports, driver, goals, ports.autoscalers)
    figures = [_figures(hpa, goals[hpa.name], samples) for hpa in hpas]
    return _verdict(config, figures, samples, driver)


def _under_load(
    ctx: PhaseContext, ports: DeployPorts, driver: LoadDriver, goals: dict[str, int], watch: AutoscalerWatch
) -> list[ReplicaSample]:
    """The HPAs' samples while ``driver`` sends the load (stopped, whatever happens)."""
    driver.start()
    try:
        return watch_autoscalers(
            lambda: watch.autoscalers(ports.spec),
            goals,
            WatchLimits.of(ports.autoscaling),
            started=driver.started,
            cancel=ctx.cancel,
        )
    finally:
        driver.stop()


def _figures(hpa: AutoscalerStatus, goal: int, samples: list[ReplicaSample]) -> ScalingFigures:
    own = [s for s in samples if s.hpa == hpa.name]
    start = own[0].replicas if own else hpa.current_replicas
    values = [s.metric_value for s in own if s.metric_value is not None]
    return ScalingFigures(
        hpa=hpa.name,
        workload=hpa.workload,
        min_replicas=hpa.min_replicas,
        max_replicas=hpa.max_replicas,
        goal=goal,
        start_replicas=start,
        first_scale_up_seconds=next((s.at for s in own if s.desired > start or s.replicas > start), None),
        goal_reached_seconds=next((s.at for s in own if s.replicas >= goal), None),
        highest_replicas=max((s.replicas for s in own), default=start),
        metric=hpa.metric,
        metric_target=hpa.target_value,
        metric_last=values[-1] if values else None,
        metric_peak=max(values) if values else None,
    )


def _verdict(
    config: AutoscalingConfig, figures: list[ScalingFigures], samples: list[ReplicaSample], driver: LoadDriver
) -> CheckResult:
    evidence: dict[str, Any] = {
        "hpas": [asdict(f) for f in figures],
        "replicas": [asdict(s) for s in samples],
        "load": [asdict(s) for s in driver.samples],
        "load_url": driver.url,
        "connections": driver.connections,
    }
    if driver.error:
        evidence["load_error"] = driver.error
    first_up = [f.first_scale_up_seconds for f in figures if f.first_scale_up_seconds is not None]
    metrics: dict[str, MetricValue] = {
        "hpa_first_scale_up_seconds": min(first_up) if first_up else None,
        "hpa_max_replicas_reached": max(f.highest_replicas for f in figures),
    }
    expected = (
        f"each HPA scales from its minimum to its goal within {config.max_wait_seconds:.0f}s, "
        f"the first scale-up within {config.first_scale_up_within_seconds:.0f}s"
    )
    observed = "; ".join(f.describe() for f in figures)
    if all(f.passed(config) for f in figures):
        summary = ", ".join(f"{f.hpa} {f.start_replicas}->{f.highest_replicas}" for f in figures)
        return CHECK.passed(
            f"scaled under load: {summary}", expected=expected, observed=observed, evidence=evidence, metrics=metrics
        )
    return CHECK.failed(
        "an HPA did not scale as required under load" + (f" (load generator: {driver.error})" if driver.error else ""),
        expected=expected,
        observed=observed,
        fix=(
            "check the HPA's metric source (metrics-server), the containers' CPU requests and the target "
            "utilization; raise deploy.autoscaling.load.connections if the load was too light"
        ),
        evidence=evidence,
        metrics=metrics,
    )


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"
