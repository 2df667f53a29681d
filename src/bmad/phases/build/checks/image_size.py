"""build.image_size: the image is within its size budget (500 MB app, 2000 MB ml, or build.size_budget_mb)."""

from __future__ import annotations

from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.build.checks import image
from bmad.phases.build.ports import BuildPorts
from bmad.phases.build.workspace import BuildWorkspace
from bmad.ports.artifacts import BuiltImage
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("build.image_size", "Image size within budget")
NEEDS = (image.CHECK.id,)
BYTES_PER_MB = 1_000_000  # as `docker images` shows sizes


def run(ctx: PhaseContext, ports: BuildPorts, work: BuildWorkspace) -> CheckResult:
    config = ctx.config.build
    budget = config.effective_size_budget_mb
    built = BuiltImage.from_artifacts(ctx.artifacts())
    size_bytes = built.image_size_bytes
    if size_bytes is None:
        inspected = ports.images.inspect(built.image_id)
        size_bytes = inspected.size_bytes if inspected else None
    if size_bytes is None:
        raise AdapterError("container engine", "reading the image size", "the built image is gone")
    size_mb = round(size_bytes / BYTES_PER_MB, 2)
    multi = built.multi_stage
    evidence = {
        "size_bytes": size_bytes,
        "image_size_mb": size_mb,
        "budget_mb": budget,
        "image_kind": config.image_kind,
        "multi_stage": multi,
    }
    stage_note = "multi-stage build" if multi else "single-stage build"
    over = size_mb > budget
    return CHECK.result(
        CheckStatus.FAIL if over else CheckStatus.PASS,
        f"{size_mb} MB against a {budget:.0f} MB budget ({stage_note})",
        expected=f"<= {budget:.0f} MB ({config.image_kind} image)",
        observed=f"{size_mb} MB, {stage_note}",
        fix=(
            "shrink the image: multi-stage build, slimmer base, fewer build tools in the final stage"
            + ("" if multi else " (this Containerfile has a single stage)")
            if over
            else ""
        ),
        evidence=evidence,
        metrics={"image_size_mb": size_mb},
    )
