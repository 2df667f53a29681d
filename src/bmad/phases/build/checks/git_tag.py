"""build.git_tag: an annotated rollback tag whose message names the image digest, pushed when the remote exists."""

from __future__ import annotations

from typing import Any

from bmad.core.models import CheckResult
from bmad.phases.build.checks import push
from bmad.phases.build.naming import render_template
from bmad.phases.build.ports import BuildPorts
from bmad.phases.build.workspace import BuildWorkspace
from bmad.ports.artifacts import PushedImage, ReleaseTagged
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("build.git_tag", "Rollback git tag created")
NEEDS = (push.CHECK.id,)


def run(ctx: PhaseContext, ports: BuildPorts, work: BuildWorkspace) -> CheckResult:
    config = ctx.config.build.git_tag
    name = render_template(config.name, ctx)
    pushed = PushedImage.from_artifacts(ctx.artifacts())
    message = "\n".join(
        [
            f"bmad release {ctx.config.service.name} {ctx.release.short_version} for {ctx.environment_name}",
            "",
            f"image: {pushed.image}@{pushed.image_digest}",
            f"tags: {', '.join(pushed.image_tags)}",
            f"commit: {ctx.release.version}",
        ]
    )
    outcome = ports.tagger.tag(name, commit=ctx.release.version, message=message)
    evidence: dict[str, Any] = {"name": name, "action": outcome.action, "message": message}
    pushed_to = None
    if config.push and ports.tagger.has_remote(config.remote):
        ports.tagger.push(name, remote=config.remote, force=outcome.action == "moved")
        pushed_to = config.remote
    evidence["pushed_to"] = pushed_to
    artifacts = ReleaseTagged(git_tag=name).to_artifacts()
    ctx.add_artifacts(artifacts)
    remote_note = f", pushed to {pushed_to}" if pushed_to else ", not pushed (no remote)"
    return CHECK.passed(
        f"tag {name} {outcome.action}{remote_note}",
        expected="an annotated tag naming the image digest",
        observed=name,
        evidence=evidence,
        artifacts=artifacts,
    )
