"""deploy.apply: the release is applied to the target, the image pinned to BUILD's digest."""

from __future__ import annotations

import time

from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult
from bmad.phases.deploy.ports import DeployPorts, now
from bmad.ports.artifacts import DeployArtifacts
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("deploy.apply", "Apply the release to the target")
NEEDS: tuple[str, ...] = ()


def run(ctx: PhaseContext, ports: DeployPorts) -> CheckResult:
    ports.state.started = time.monotonic()
    spec, target, prober = ports.spec, ports.target, ports.state.prober
    before = target.snapshot(spec.service, spec.environment)
    prober.add(target.serving_endpoints(spec.service, spec.environment))
    prober.start()
    ctx.progress.log(f"deploying {spec.pinned_image} to {target.kind} ({spec.environment})")
    rollback_point = DeployArtifacts(previous_snapshot=before).to_artifacts()
    try:
        applied = target.apply(spec, progress=ctx.progress)
    except AdapterError as exc:
        return CHECK.failed(
            f"could not apply: {exc.message}",
            expected=f"{spec.pinned_image} applied to {target.kind}",
            observed=exc.message,
            fix=exc.hint or "check the target is reachable and the image digest exists in the registry",
            evidence={"error": exc.message, "detected_at": now().isoformat(), "before": before.to_dict()},
            artifacts=rollback_point,
        )
    missing = applied.get("missing_secrets") or []
    if missing:
        return CHECK.failed(
            f"secret(s) referenced but missing in the target: {', '.join(missing)}",
            expected="every Secret the bundle references exists with the referenced keys",
            observed=f"missing: {', '.join(missing)}",
            fix="create the secrets in the target (bmad never invents secret values), then deploy again",
            evidence={"applied": applied, "detected_at": now().isoformat()},
            artifacts=rollback_point,
        )
    ports.state.applied = True
    artifacts = DeployArtifacts(
        previous_snapshot=before,
        image=spec.image,
        digest=spec.digest,
        image_ref=spec.pinned_image,
        release=spec.version,
        target=target.kind,
        applied=applied,
    )
    return CHECK.passed(
        "adopted the running release" if applied.get("adopted") else f"applied {spec.pinned_image}",
        expected=f"{spec.pinned_image} applied",
        observed=str(applied.get("summary") or applied.get("generation") or "applied"),
        evidence={"applied": applied, "before": before.to_dict()},
        artifacts=artifacts.to_artifacts(),
    )
