"""build.push: every tag pushed (retrying temporary errors), the manifest read back, one digest for all tags.

It needs every other check of the phase: nothing is pushed unless the suites and the gates passed.
"""

from __future__ import annotations

from typing import Any

from bmad.core.errors import BmadError, Unreachable
from bmad.core.models import CheckResult
from bmad.phases.build.naming import image_repository
from bmad.phases.build.ports import BuildPorts
from bmad.phases.build.retry import count_retries, retrying
from bmad.phases.build.workspace import BuildWorkspace
from bmad.ports.artifacts import BuiltImage, PushedImage
from bmad.ports.phase import CheckId, PhaseContext
from bmad.ports.registry import ManifestInfo

CHECK = CheckId("build.push", "Image pushed and manifest verified")


def run(ctx: PhaseContext, ports: BuildPorts, work: BuildWorkspace) -> CheckResult:
    built = BuiltImage.from_artifacts(ctx.artifacts())
    tags = list(built.image_tags)
    repository = image_repository(ctx.config.build, ctx.config.service.name)
    attempts: list[dict[str, Any]] = []
    lines: list[str] = []
    task = ctx.progress.task(f"pushing {repository}", total=len(tags))
    try:
        for ref in tags:
            tag = ref.rsplit(":", 1)[1]
            retrying(ctx, ports.sleep, f"push {tag}", attempts, lambda tag=tag: _push(ports, repository, tag, lines))  # type: ignore[misc]
            task.advance()
        manifests = _read_manifests(ctx, ports, repository, tags, attempts)
    except BmadError as exc:
        return _push_failed(ports, exc, tags, attempts, lines)
    finally:
        task.done()
    evidence = {
        "attempts": attempts,
        "retries": count_retries(attempts),
        "tags": tags,
        "digests": {tag: manifest.digest for tag, manifest in manifests.items()},
        "push_log": lines[-30:],
    }
    return _verify(ctx, ports, repository, tags, manifests, built.image_id, evidence)


def _push(ports: BuildPorts, repository: str, tag: str, lines: list[str]) -> None:
    ports.registry.ping()
    ports.images.push(repository, tag, on_line=lines.append)


def _read_manifests(
    ctx: PhaseContext, ports: BuildPorts, repository: str, tags: list[str], attempts: list[dict[str, Any]]
) -> dict[str, ManifestInfo]:
    """Each pushed tag's manifest as the registry serves it, by tag."""
    path = repository.split("/", 1)[1]
    manifests: dict[str, ManifestInfo] = {}
    for ref in tags:
        tag = ref.rsplit(":", 1)[1]
        manifests[tag] = retrying(
            ctx,
            ports.sleep,
            f"manifest {tag}",
            attempts,
            lambda tag=tag: ports.registry.manifest(path, tag),  # type: ignore[misc]
        )
    return manifests


def _push_failed(
    ports: BuildPorts, exc: BmadError, tags: list[str], attempts: list[dict[str, Any]], lines: list[str]
) -> CheckResult:
    address = ports.registry.address
    return CHECK.failed(
        f"push to {address} failed after {len(attempts)} attempt(s): {exc.message}",
        expected=f"{', '.join(tags)} in {address} with one digest",
        observed=exc.message,
        fix=(exc.hint + "; " if exc.hint else "")
        + f"check that the registry {address} is up and accepts pushes, then run BUILD again",
        evidence={
            "attempts": attempts,
            "retries": count_retries(attempts),
            "tags": tags,
            "push_log": lines[-30:],
            # an unreachable registry ends the run with exit 3, like every unreachable system
            **({"error_type": "Unreachable"} if isinstance(exc, Unreachable) else {}),
        },
    )


def _verify(
    ctx: PhaseContext,
    ports: BuildPorts,
    repository: str,
    tags: list[str],
    manifests: dict[str, ManifestInfo],
    image_id: str,
    evidence: dict[str, Any],
) -> CheckResult:
    """One digest for every tag, and the manifest's config is the image built here."""
    pushed = {tag: manifest.digest for tag, manifest in manifests.items()}
    digests = set(pushed.values())
    foreign = {t: m.config_digest for t, m in manifests.items() if m.config_digest not in (None, image_id)}
    if len(digests) != 1:
        return CHECK.failed(
            f"the tags point to different manifests: {pushed}",
            expected="every tag points to the same manifest digest",
            observed=str(pushed),
            fix="another push raced this one; run BUILD again",
            evidence=evidence,
        )
    if foreign:
        return CHECK.failed(
            f"the registry's manifest is not the image built here (config {foreign})",
            expected=f"manifest config digest {image_id}",
            observed=str(foreign),
            fix="another push overwrote the tags; run BUILD again",
            evidence=evidence,
        )
    first = next(iter(manifests.values()))
    evidence["manifest"] = {"media_type": first.media_type, "config_digest": image_id, "layers": first.layers}
    digest = digests.pop()
    pushed_image = PushedImage(
        image_digest=digest, image=repository, image_tags=tags, image_pinned=f"{repository}@{digest}"
    )
    artifacts = pushed_image.to_artifacts()
    ctx.add_artifacts(artifacts)
    return CHECK.passed(
        f"pushed {', '.join(t.rsplit(':', 1)[1] for t in tags)} to {repository}: {digest}",
        expected=f"{', '.join(tags)} in {ports.registry.address} with one digest",
        observed=digest,
        evidence=evidence,
        artifacts=artifacts,
        metrics={"image_digest": digest},
    )
