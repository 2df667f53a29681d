"""``analyze.secrets``: referenced/required Secrets and keys exist in the target -> secrets_configured."""

from __future__ import annotations

from collections.abc import Sequence

from bmad.core.models import CheckResult
from bmad.phases.analyze.preparation import AnalyzeRun
from bmad.phases.analyze.secrets import SecretStatus, check_secrets, secret_requirements
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("analyze.secrets", "Secrets configured in the target")


def run(ctx: PhaseContext, phase: AnalyzeRun) -> CheckResult:
    prepared = phase.prepare(ctx)
    requirements = secret_requirements(prepared.bundle, ctx.config.analyze)
    target = phase.ports.target
    if not requirements:
        return CHECK.passed(
            "the release references no Secret and bmad.yaml names none",
            expected="every referenced Secret and required key exists",
            observed="nothing required",
            metrics={"secrets_configured": True},
        )
    if target is None:
        return CHECK.skipped(
            f"cannot check {len(requirements)} Secret(s): {phase.ports.target_note}",
            evidence={"required": [r.to_dict() for r in requirements]},
            metrics={"secrets_configured": False},
        )
    statuses = check_secrets(requirements, prepared.bundle, target)
    bad = [s for s in statuses if not s.ok]
    present = sum(1 for s in statuses if s.exists and not s.missing_keys)
    return (CHECK.failed if bad else CHECK.passed)(
        f"{present}/{len(statuses)} Secret(s) configured",
        expected="every Secret the bundle references and every key bmad.yaml requires exists (names only)",
        observed="\n".join(_observed(s) for s in statuses),
        fix="\n".join(_fix(s, target.kind) for s in bad),
        evidence={"secrets": [s.to_dict() for s in statuses], "target": target.kind},
        metrics={"secrets_configured": not bad},
    )


def _observed(status: SecretStatus) -> str:
    requirement = status.requirement
    where = f"{requirement.namespace}/{requirement.name}" if requirement.namespace else requirement.name
    if not status.exists:
        return f"{where}: missing" + (" (optional)" if requirement.optional else "")
    if status.missing_keys:
        return f"{where}: missing key(s) {', '.join(status.missing_keys)}"
    return f"{where}: present ({status.source})"


def _fix(status: SecretStatus, target_kind: str) -> str:
    requirement = status.requirement
    keys: Sequence[str] = status.missing_keys or sorted(requirement.keys)
    ns = f" -n {requirement.namespace}" if requirement.namespace else ""
    literal = " ".join(f"--from-literal={k}=..." for k in keys) or "--from-literal=KEY=..."
    if target_kind == "kubernetes":
        return f"kubectl create secret generic {requirement.name}{ns} {literal}"
    return f"create the engine secret {requirement.name} (podman secret create ...)"
