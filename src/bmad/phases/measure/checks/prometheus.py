"""``measure.prometheus``: Prometheus answers ``/-/ready``; its uptime (``prometheus_uptime_seconds``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bmad.core.errors import Unreachable
from bmad.core.models import CheckResult
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.prometheus", "Prometheus running and accessible")
NEEDS: tuple[str, ...] = ()
EXCLUSIVE = False


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    prom = ports.prometheus
    try:
        ready = prom.ready()
    except Unreachable as exc:
        raise unreachable(exc, ctx, ports) from None
    if not ready:
        return CHECK.failed(
            f"Prometheus at {prom.url} answers but is not ready",
            expected="/-/ready answers 200",
            observed="/-/ready answers 503 (starting up, replaying its WAL, or shutting down)",
            fix="wait for Prometheus to finish starting, then run MEASURE again; check its log",
            evidence={"url": prom.url},
        )
    info = prom.runtime_info()
    uptime = max(0.0, (datetime.now(UTC) - info.start_time).total_seconds())
    evidence = {
        "url": prom.url,
        "start_time": info.start_time.isoformat(),
        "uptime_seconds": round(uptime, 1),
        "version": info.version,
        "reload_config_success": info.reload_config_success,
        "storage_retention": info.storage_retention,
    }
    summary = f"Prometheus {info.version or ''} ready at {prom.url}, up {duration(uptime)}".replace("  ", " ")
    fields = {
        "expected": "ready, last configuration reload successful",
        "observed": f"ready, uptime {duration(uptime)}, reloadConfigSuccess={info.reload_config_success}",
        "evidence": evidence,
        "metrics": {"prometheus_uptime_seconds": round(uptime)},
    }
    if info.reload_config_success is False:
        return CHECK.warned(
            summary + "; its last configuration reload FAILED (it still runs the previous configuration)",
            fix="run 'promtool check config' on Prometheus' configuration, fix it, reload",
            **fields,
        )
    return CHECK.passed(summary, **fields)


def unreachable(exc: Unreachable, ctx: PhaseContext, ports: MeasurePorts) -> Unreachable:
    """Prometheus could not be reached: the error names its URL and the setting to fix."""
    return Unreachable(
        "prometheus",
        f"reaching {ports.prometheus.url}",
        exc.detail,
        hint=f"start Prometheus, or fix environments.{ctx.environment_name}.monitoring.prometheus_url",
    )


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
