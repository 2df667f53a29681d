"""``measure.grafana.datasource``: the dashboards' data source (configured, else the default, else
the first Prometheus one) passes Grafana's health check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.measure.checks import grafana_health
from bmad.ports.monitoring import DataSource
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.grafana.datasource", "Grafana can query its data source")
NEEDS: tuple[str, ...] = (grafana_health.CHECK.id,)
EXCLUSIVE = False


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    grafana = ports.grafana
    if grafana is None:
        return grafana_health.not_configured(ctx, CHECK)
    gconf = ctx.environment.monitoring.grafana
    wanted = gconf.datasource if gconf is not None else None
    sources = grafana.datasources()
    chosen = _choose(sources, wanted)
    evidence: dict[str, Any] = {"datasources": [{"uid": s.uid, "name": s.name, "type": s.type} for s in sources]}
    if chosen is None:
        return CHECK.failed(
            f"no data source {wanted!r}" if wanted else "Grafana has no (default or Prometheus) data source",
            expected=f"data source {wanted}" if wanted else "a default or Prometheus data source",
            observed=", ".join(s.name for s in sources) or "no data sources",
            fix="add the Prometheus data source in Grafana (or fix monitoring.grafana.datasource)",
            evidence=evidence,
        )
    health = grafana.datasource_health(chosen.uid)
    evidence.update({"checked": chosen.uid, "message": health.message, "details": health.details})
    message = health.message or ("OK" if health.ok else "error")
    return CHECK.result(
        CheckStatus.PASS if health.ok else CheckStatus.FAIL,
        f"data source {chosen.name!r} ({chosen.type}): {message}",
        expected="the data source health check answers OK",
        observed=message,
        fix="" if health.ok else f"check the data source's URL ({chosen.url or 'unset'}) and credentials in Grafana",
        evidence=evidence,
    )


def _choose(sources: Sequence[DataSource], wanted: str | None) -> DataSource | None:
    """The data source named ``wanted`` (uid or name), else the default one, else the first Prometheus one."""
    if wanted:
        return next((s for s in sources if wanted in (s.uid, s.name)), None)
    return next((s for s in sources if s.is_default), None) or next(
        (s for s in sources if s.type == "prometheus"), None
    )
