"""``analyze.rollback_plan``: the plan from the snapshot -> rollback_plan_documented."""

from __future__ import annotations

from bmad.core.models import CheckResult, PhaseName
from bmad.phases.analyze.preparation import AnalyzeRun
from bmad.phases.analyze.rollback import build_rollback_plan, describe_rollback_target, render_plan_markdown
from bmad.ports.artifacts import AnalyzeArtifacts
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("analyze.rollback_plan", "Rollback plan documented")


def run(ctx: PhaseContext, phase: AnalyzeRun) -> CheckResult:
    snapshot = AnalyzeArtifacts.from_artifacts(ctx.artifacts()).snapshot or {}
    prepared = phase.prepare(ctx)
    plan = build_rollback_plan(
        snapshot,
        service=ctx.config.service.name,
        environment=ctx.environment_name,
        release_version=ctx.release.version,
        timeout_seconds=float(getattr(ctx.config.deploy, "rollback_timeout_seconds", 120.0)),
        manifests=prepared.manifests_dir,
        past_durations=_past_deploy_durations(ctx)[:10],
    )
    files = (
        ctx.evidence.write_text("analyze/rollback_plan.md", render_plan_markdown(plan)),
        ctx.evidence.write_json("analyze/rollback_plan.json", plan),
    )
    documented = bool(plan.get("commands")) and "to" in plan
    return (CHECK.passed if documented else CHECK.failed)(
        f"roll back {plan['what']} to {describe_rollback_target(plan['to'])} in ~{plan['expected_seconds']} s",
        expected="what, to which digest/revision, exact command, expected time",
        observed="\n".join(plan["commands"]),
        evidence={"plan": plan},
        metrics={"rollback_plan_documented": documented},
        artifacts=AnalyzeArtifacts(rollback_plan=plan).written(),
        evidence_files=files,
    )


def _past_deploy_durations(ctx: PhaseContext) -> list[float]:
    durations = []
    try:
        for record in ctx.history.previous_releases(limit=20):
            deploy = record.phases.get(PhaseName.DEPLOY)
            if deploy is not None and deploy.duration_seconds > 0:
                durations.append(deploy.duration_seconds)
    except Exception:  # noqa: S110 - no history is fine: fall back to the configured timeout
        pass
    return durations
