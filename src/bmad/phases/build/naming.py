"""Names BUILD gives the image: its repository, its tags, and the templates they are written with."""

from __future__ import annotations

from bmad.config.build import BuildConfig
from bmad.ports.phase import PhaseContext


def image_repository(config: BuildConfig, service: str) -> str:
    return f"{config.registry.rstrip('/')}/{config.image or service}"


def render_template(template: str, ctx: PhaseContext) -> str:
    """``{sha}``, ``{short_sha}``, ``{environment}`` and ``{service}`` filled in for this release."""
    return template.format(
        sha=ctx.release.version,
        short_sha=ctx.release.short_version,
        environment=ctx.environment_name,
        service=ctx.config.service.name,
    )


def image_tags(ctx: PhaseContext) -> list[str]:
    """Every ``repository:tag`` the image is built and pushed as, the first one naming the image."""
    config = ctx.config.build
    repository = image_repository(config, ctx.config.service.name)
    return [f"{repository}:{render_template(t, ctx)}" for t in config.tags]
