"""``analyze.risk``: the guide's decision matrix and mitigations -> risk_assessment_complete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.models import CheckResult, PhaseName
from bmad.phases.analyze.context import Evidence
from bmad.phases.analyze.preparation import AnalyzeRun
from bmad.phases.analyze.risk import assess, infer_change_types
from bmad.phases.analyze.validation import ValidationReport
from bmad.ports.artifacts import AnalyzeArtifacts
from bmad.ports.phase import CheckId, PhaseContext
from bmad.ports.source import SourceHistory

CHECK = CheckId("analyze.risk", "Risk assessment complete")


@datatype(frozen=True)
class _Change:
    """What this release changes, as far as the risk assessment is concerned."""

    types: list[str]
    reasons: list[str]
    inferred: bool
    base: str | None = None
    head: str | None = None
    files: int = 0


def run(ctx: PhaseContext, phase: AnalyzeRun) -> CheckResult:
    prepared = phase.prepare(ctx)
    forced = list(ctx.options.change_type) or ctx.config.analyze.risk.change_type
    if forced:
        types = [str(t) for t in (forced if isinstance(forced, list | tuple) else [forced])]
        change = _Change(types, [f"change type given: {', '.join(types)}"], inferred=False)
    elif phase.ports.source is None:
        return CHECK.failed(
            "cannot read the change: no git repository",
            fix="set analyze.risk.change_type, or run bmad inside the service's git repository",
            metrics={"risk_assessment_complete": False},
        )
    else:
        change = _read_change(ctx, phase.ports.source)
    assessment = assess(
        change.types,
        change.reasons,
        environment=ctx.environment_name,
        environment_risk=ctx.environment.risk,
        facts=_mitigation_facts(ctx, prepared.eval_ctx.evidence, prepared.validation),
        attestations=prepared.eval_ctx.attestations,
        today=prepared.eval_ctx.today,
        inferred=change.inferred,
    )
    assessment.base, assessment.head, assessment.files = change.base, change.head, change.files
    data = assessment.to_dict()
    file = ctx.evidence.write_json("analyze/risk.json", data)
    missing = assessment.missing_mitigations if assessment.level == "high" else []
    return (CHECK.passed if assessment.complete else CHECK.failed)(
        f"risk {assessment.level.upper()} ({', '.join(assessment.change_types)}); "
        f"B-MAD required: {assessment.bmad_required}",
        expected="risks identified; for HIGH every required mitigation in place",
        observed=assessment.render(),
        fix="\n".join(f"{m.id}: {m.text} ({m.how})" for m in missing),
        evidence=data,
        metrics={"risk_assessment_complete": assessment.complete},
        artifacts=AnalyzeArtifacts(risk=data).written(),
        evidence_files=(file,),
    )


def _read_change(ctx: PhaseContext, source: SourceHistory) -> _Change:
    """The change types inferred from the files changed since the last deployed release."""
    last = ctx.history.last_deployed()
    head = source.resolve(ctx.release.version) or source.head()
    base = source.resolve(last.release.version) if last is not None else None
    changed = source.changed_files(base, head)

    def diff(paths: list[str]) -> str:
        return source.diff_text(base, str(head), paths)

    types, reasons = infer_change_types(
        changed,
        ctx.config.analyze.risk,
        production=ctx.environment.production,
        first_release=base is None,
        diff_text=diff,
    )
    if last is not None and base is None:
        reasons.append(f"last deployed release {last.release.short_version} is not in this repository")
    return _Change(types, reasons, inferred=True, base=base, head=head, files=len(changed))


def _mitigation_facts(ctx: PhaseContext, evidence: Evidence, validation: ValidationReport) -> dict[str, bool | None]:
    def metric(phase: PhaseName, key: str, *older: str) -> Any:
        """The first recorded of ``key`` and its older names (records before the gated figures existed)."""
        return next((v for k in (key, *older) if (v := evidence.lookup(phase, k)[1]) is not None), None)

    rate = metric(PhaseName.BUILD, "test_pass_rate")
    crit = metric(PhaseName.BUILD, "vulnerabilities_critical_gated", "vulnerabilities_critical")
    high = metric(PhaseName.BUILD, "vulnerabilities_high_gated", "vulnerabilities_high")
    alerts = metric(PhaseName.MEASURE, "alert_rules_loaded")
    plan = AnalyzeArtifacts.from_artifacts(ctx.artifacts()).rollback_plan
    load = metric(PhaseName.MEASURE, "load_test")

    def known(value: Any, test: Callable[[Any], bool]) -> bool | None:
        if value is None:
            return False if ctx.previous else None
        try:
            return bool(test(value))
        except (TypeError, ValueError):
            return False

    return {
        "rollback_plan_documented": bool(plan),
        "baseline_captured": known(metric(PhaseName.MEASURE, "baseline_captured"), lambda v: v is True),
        "alerts_loaded": known(alerts, lambda v: float(v) > 0),
        "tests_passed": known(rate, lambda v: float(str(v).rstrip("%")) >= 100),
        "scan_clean": known(crit, lambda v: int(v) == 0 and int(high or 0) == 0),
        "kubernetes_manifests_valid": validation.ok and validation.objects > 0,
        "load_tested": known(load, lambda v: bool(v)),
    }
