"""``measure.grafana.dashboards``: the required dashboards exist, each matched by uid or title
(``grafana_dashboards_count``; artifact ``grafana_dashboard_uids``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.measure.checks import grafana_health
from bmad.ports.artifacts import MeasureArtifacts
from bmad.ports.monitoring import DashboardRef
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.grafana.dashboards", "Grafana has the required dashboards")
NEEDS: tuple[str, ...] = (grafana_health.CHECK.id,)
EXCLUSIVE = False


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    grafana = ports.grafana
    if grafana is None:
        return grafana_health.not_configured(ctx, CHECK, metrics={"grafana_dashboards_count": None})
    gconf = ctx.environment.monitoring.grafana
    required = list(gconf.dashboards) if gconf is not None else []
    refs = grafana.search_dashboards()
    found = _match(required, refs)
    missing = [w for w in required if w not in found]
    ctx.add_artifacts(MeasureArtifacts(grafana_dashboard_uids=tuple(sorted(set(found.values())))).to_artifacts())
    return CHECK.result(
        CheckStatus.FAIL if missing else CheckStatus.PASS,
        f"{len(found)}/{len(required)} required dashboards present"
        + (f"; missing: {', '.join(missing)}" if missing else ""),
        expected="present (by uid or title): " + ", ".join(required),
        observed=f"{len(refs)} dashboards in Grafana; required found: {', '.join(found) or 'none'}",
        fix="run 'bmad dashboards install --env " + ctx.environment_name + "'" if missing else "",
        evidence={"required": required, "found": found, "missing": missing, "all": [r.title for r in refs]},
        metrics={"grafana_dashboards_count": len(found)},
    )


def _match(required: list[str], refs: Sequence[DashboardRef]) -> dict[str, str]:
    """``{wanted: uid}`` of the required dashboards found, each by uid or (case-insensitive) title."""
    found: dict[str, str] = {}
    for want in required:
        for ref in refs:
            if ref.uid == want or ref.title.strip().lower() == want.strip().lower():
                found[want] = ref.uid
                break
    return found
