"""``measure.alert_rules``: rules loaded (``alert_rules_loaded``) >= the minimum, no rule in error,
and Prometheus' last configuration reload succeeded (else the rules shown are the old ones)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.measure.checks import prometheus
from bmad.ports.monitoring import RuleGroup
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.alert_rules", "Alert rules configured and healthy")
NEEDS: tuple[str, ...] = (prometheus.CHECK.id,)
EXCLUSIVE = False


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    minimum = ctx.config.measure.min_alert_rules
    groups = ports.prometheus.rule_groups()
    info = ports.prometheus.runtime_info()
    alerting = sum(1 for g in groups for r in g.rules if r.kind == "alerting")
    recording = sum(1 for g in groups for r in g.rules if r.kind == "recording")
    loaded = alerting + recording
    broken = [(g, r) for g in groups for r in g.errors]
    problems: list[str] = []
    fixes: list[str] = []
    if loaded < minimum:
        problems.append(f"{loaded} rules loaded, fewer than the {minimum} expected")
        fixes.append("add the missing rule files to Prometheus' rule_files and reload")
    for group, rule in broken:
        problems.append(
            f"rule {rule.name!r} in group {group.name!r} ({group.file}) is {rule.health}: {rule.last_error}"
        )
    if broken:
        fixes.append("fix the failing expressions (try them in the Prometheus query UI), then reload")
    if info.reload_config_success is False:
        problems.append(
            "Prometheus' last configuration reload failed: the rules shown are the previous ones, not what is on disk"
        )
        fixes.append("run 'promtool check rules <file>' and 'promtool check config', fix, reload")
    observed = f"{loaded} rules loaded ({alerting} alerting, {recording} recording) in {len(groups)} groups"
    evidence = _evidence(groups) | {
        "alerting": alerting,
        "recording": recording,
        "minimum": minimum,
        "reload_config_success": info.reload_config_success,
    }
    return CHECK.result(
        CheckStatus.FAIL if problems else CheckStatus.PASS,
        "; ".join(problems) if problems else observed,
        expected=f"at least {minimum} rules (measure.min_alert_rules), every rule healthy",
        observed=observed + (f"; {len(broken)} in error" if broken else ""),
        fix="; ".join(fixes),
        evidence=evidence,
        metrics={"alert_rules_loaded": loaded},
    )


def _evidence(groups: Sequence[RuleGroup]) -> dict[str, Any]:
    return {
        "groups": [
            {
                "name": g.name,
                "file": g.file,
                "rules": len(g.rules),
                "errors": [{"rule": r.name, "health": r.health, "last_error": r.last_error} for r in g.errors],
            }
            for g in groups
        ]
    }
