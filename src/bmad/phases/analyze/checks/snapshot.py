"""``analyze.snapshot``: what runs now, recorded before DEPLOY changes it -> artifact ``snapshot``."""

from __future__ import annotations

from bmad.core.models import CheckResult
from bmad.phases.analyze.preparation import AnalyzeRun
from bmad.ports.artifacts import AnalyzeArtifacts
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("analyze.snapshot", "Current state documented (rollback point)")


def run(ctx: PhaseContext, phase: AnalyzeRun) -> CheckResult:
    target = phase.ports.target
    if target is None:
        return CHECK.failed(
            f"no snapshot: {phase.ports.target_note}",
            fix="configure environments.<env>.target so the current state can be read",
        )
    snapshot = target.snapshot(ctx.config.service.name, ctx.environment_name).to_dict()
    file = ctx.evidence.write_json("analyze/snapshot.json", snapshot)
    exists = bool(snapshot.get("exists"))
    described = (
        f"{snapshot.get('kind')}: release {snapshot.get('release')}, "
        f"images {snapshot.get('images') or snapshot.get('image')}, replicas {snapshot.get('replicas')}"
        + (f", revision {snapshot.get('revision')}" if snapshot.get("revision") else "")
        if exists
        else f"nothing of {ctx.config.service.name} runs in {ctx.environment_name} yet (first deployment)"
    )
    return CHECK.passed(
        described,
        expected="the live state recorded before DEPLOY changes it",
        observed=described,
        evidence={"snapshot": snapshot},
        artifacts=AnalyzeArtifacts(snapshot=snapshot).written(),
        evidence_files=(file,),
    )
