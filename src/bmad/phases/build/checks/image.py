"""build.image: the image builds through the Docker Engine API, labelled and tagged for this release."""

from __future__ import annotations

import time
from datetime import UTC
from pathlib import Path
from typing import Any

from bmad.core.models import CheckResult, utcnow
from bmad.phases.build.containerfile import ContainerfileInfo, locate_containerfile, parse_containerfile
from bmad.phases.build.naming import image_tags
from bmad.phases.build.ports import BuildPorts
from bmad.phases.build.workspace import BuildWorkspace
from bmad.ports.artifacts import BuiltImage
from bmad.ports.images import BuildOutcome, BuildRequest
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("build.image", "Container image builds")
NEEDS: tuple[str, ...] = ()


def run(ctx: PhaseContext, ports: BuildPorts, work: BuildWorkspace) -> CheckResult:
    config = ctx.config.build
    context, containerfile = locate_containerfile(config, ctx.config.repository_dir)
    if containerfile is None or not containerfile.is_file():
        return CHECK.failed(
            f"no Containerfile or Dockerfile in {context}",
            expected="a Containerfile (or Dockerfile) in the build context, or build.containerfile",
            observed=str(containerfile) if containerfile else "none found",
            fix="add a Containerfile or set build.containerfile in bmad.yaml",
        )
    info = parse_containerfile(containerfile, config.build_args)
    request = BuildRequest(
        context=context,
        containerfile=containerfile,
        tags=tuple(image_tags(ctx)),
        build_args=config.build_args,
        target=config.target,
        labels=image_labels(ctx, ports),
        timeout_seconds=config.build_timeout_seconds,
    )
    started = time.monotonic()
    outcome = _build(ctx, ports, request, work.build_log)
    duration = time.monotonic() - started
    log_file = ctx.evidence.write_text("build/image-build.log", "\n".join(work.build_log) + "\n")
    evidence = _evidence(ctx, request, info, duration)
    if not outcome.ok or outcome.image_id is None:
        return _build_failed(containerfile, outcome, evidence, work.build_log, log_file)
    image = ports.images.inspect(outcome.image_id)
    evidence["image_id"] = outcome.image_id
    if image is not None:
        evidence["layers"] = len(image.diff_ids)
    built = BuiltImage(
        image_id=outcome.image_id,
        image_ref=request.tags[0],
        image_tags=list(request.tags),
        multi_stage=info.multi_stage,
        containerfile=str(containerfile),
        base_image=info.final_base(),
        image_size_bytes=image.size_bytes if image is not None else None,
    )
    artifacts = built.to_artifacts()
    ctx.add_artifacts(artifacts)
    return CHECK.passed(
        f"built {built.image_ref} ({built.image_id[:19]}) in {duration:.1f}s",
        expected="the image builds",
        observed=f"image {built.image_id[:19]}, tags {', '.join(built.image_tags)}",
        evidence=evidence,
        artifacts=artifacts,
        evidence_files=(log_file,),
    )


def image_labels(ctx: PhaseContext, ports: BuildPorts) -> dict[str, str]:
    """The OCI labels of this release, then the configured ones."""
    config = ctx.config.build
    revision = ctx.release.version + ("-dirty" if ctx.release.dirty else "")
    labels = {
        "org.opencontainers.image.revision": revision,
        # The commit time, not the clock: the same commit builds the same image (cache hits, stable ids).
        "org.opencontainers.image.created": (ctx.release.commit_time or utcnow())
        .astimezone(UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "org.opencontainers.image.title": ctx.config.service.name,
        "org.opencontainers.image.version": ctx.release.short_version,
    }
    source = config.source_url or ports.source_url
    if source:
        labels["org.opencontainers.image.source"] = str(source)
    labels.update(config.labels)
    return labels


def _build(ctx: PhaseContext, ports: BuildPorts, request: BuildRequest, lines: list[str]) -> BuildOutcome:
    """Build, showing each output line and keeping it in ``lines``."""
    task = ctx.progress.task(f"building {request.tags[0]}")

    def on_line(line: str) -> None:
        lines.append(line)
        ctx.progress.log(line)
        task.advance()

    try:
        return ports.images.build(request, on_line=on_line)
    finally:
        task.done()


def _evidence(ctx: PhaseContext, request: BuildRequest, info: ContainerfileInfo, duration: float) -> dict[str, Any]:
    config = ctx.config.build
    return {
        "containerfile": str(request.containerfile),
        "context": str(request.context),
        "stages": [{"base": s.base, "name": s.name, "line": s.line} for s in info.stages],
        "multi_stage": info.multi_stage,
        "build_args": sorted(config.build_args),  # names only: values may be secret
        "target": config.target,
        "tags": list(request.tags),
        "labels": dict(request.labels),
        "build_seconds": round(duration, 3),
    }


def _build_failed(
    containerfile: Path, outcome: BuildOutcome, evidence: dict[str, Any], lines: list[str], log_file: str
) -> CheckResult:
    return CHECK.failed(
        f"the build failed: {(outcome.error or 'unknown error').splitlines()[0][:300]}",
        expected="the image builds",
        observed=outcome.error or "no image",
        fix=f"fix {containerfile.name} (build log in the evidence) and run BUILD again",
        evidence={**evidence, "log_tail": lines[-20:]},
        evidence_files=(log_file,),
    )
