"""Framework metrics and DORA keys in the Prometheus text exposition format (``bmad metrics --format prometheus``).

A figure that is not known (no deployments, no rollbacks) is left out, never written as 0.
"""

from __future__ import annotations

from collections.abc import Callable

from bmad.reports.metrics import FrameworkMetrics


def render_prometheus(metrics: FrameworkMetrics) -> str:
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    base = {"service": metrics.service or "", "env": metrics.environment or ""}
    names = ("service", "env")

    def gauge(name: str, doc: str, value: float | None, **labels: str) -> None:
        if value is None:
            return
        existing = _gauges.get(name)
        if existing is None:
            existing = Gauge(name, doc, (*names, *labels), registry=registry)
            _gauges[name] = existing
        existing.labels(**base, **labels).set(value)

    _gauges: dict[str, Gauge] = {}
    for result, count in metrics.by_result.items():
        gauge("bmad_framework_releases", "Releases in the period by result", float(count), result=result)
    gauge("bmad_framework_deployments", "Releases that reached DEPLOY in the period", float(metrics.deployments))
    gauge("bmad_framework_success_ratio", "Successful deployments / deployments", metrics.success_rate)
    gauge("bmad_framework_rollback_ratio", "Rolled-back deployments / deployments", metrics.rollback_rate)
    gauge("bmad_framework_zero_downtime_ratio", "Zero-downtime deployments / recorded", metrics.zero_downtime_share)
    stats: dict[str, Callable[[], float | None]] = {
        "mean": lambda: metrics.deployment_time.mean,
        "p50": lambda: metrics.deployment_time.p50,
        "p90": lambda: metrics.deployment_time.p90,
    }
    for stat, value in stats.items():
        gauge("bmad_framework_deployment_time_seconds", "First phase start to DEPLOY end", value(), stat=stat)
    gauge("bmad_framework_mttr_seconds", "Mean detection-to-recovery time of rollbacks", metrics.mttr.mean)
    gauge("bmad_framework_unrecovered_rollbacks", "Rollbacks that never recovered", float(metrics.unrecovered))
    dora = metrics.dora
    gauge(
        "bmad_dora_deployment_frequency_per_day",
        "Successful deployments per day",
        dora.deployment_frequency_per_day,
    )
    gauge("bmad_dora_lead_time_seconds", "Median commit-to-deploy time", dora.lead_time.p50)
    gauge("bmad_dora_change_failure_ratio", "Failed or rolled-back deployments / deployments", dora.change_failure_rate)
    gauge("bmad_dora_time_to_restore_seconds", "Median detection-to-recovery time", dora.time_to_restore.p50)
    return generate_latest(registry).decode("utf-8")
