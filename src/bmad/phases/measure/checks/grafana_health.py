"""``measure.grafana.health``: Grafana's ``/api/health`` says its database is ok.

Grafana is optional per environment: where it is not configured, every Grafana check is skipped
with that reason (:func:`not_configured`), never passed silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bmad.core.models import CheckResult, CheckStatus
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.grafana.health", "Grafana running")
NEEDS: tuple[str, ...] = ()
EXCLUSIVE = False


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    grafana = ports.grafana
    if grafana is None:
        return not_configured(ctx, CHECK)
    health = grafana.health()
    database = str(health.get("database", "unknown"))
    ok = database == "ok"
    return CHECK.result(
        CheckStatus.PASS if ok else CheckStatus.FAIL,
        f"Grafana {health.get('version', '')} at {grafana.url}: database {database}",
        expected="/api/health: database ok",
        observed=f"database {database}",
        fix="" if ok else "check Grafana's database connection and its log",
        evidence={"url": grafana.url, "health": health},
    )


def not_configured(ctx: PhaseContext, check: CheckId, **fields: Any) -> CheckResult:
    """The skip of a Grafana check where the environment has no Grafana (``fields``: e.g. its metric as None)."""
    return check.skipped(
        f"Grafana is not configured for environment {ctx.environment_name!r} "
        f"(environments.{ctx.environment_name}.monitoring.grafana): not checked",
        observed="not configured",
        **fields,
    )
