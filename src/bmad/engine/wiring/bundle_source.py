"""The environment's bundle when it is rendered (kustomize, Helm): rendered once per command, before
any check runs; a source that does not render is a configuration error (exit 2)."""

from __future__ import annotations

from typing import Any

import yaml

from bmad.config.models import BmadConfig
from bmad.ports.phase import PhaseContext
from bmad.ports.renderer import RenderedBundle, RenderError, kept_bundle_name


def render_bundle(config: BmadConfig, environment: str) -> RenderedBundle | None:
    """The rendered bundle of a kustomize or helm source; None for a folder (read as written)."""
    from bmad.adapters.renderers import renderer_for

    target = config.environment(environment).target
    source = target.kubernetes.source
    if target.kind != "kubernetes" or source.kind == "folder":
        return None
    renderer = renderer_for(
        source,
        base_dir=config.base_dir,
        service=config.service.name,
        namespace=target.kubernetes.namespace or "default",
    )
    return renderer.render()


def rendered_objects(rendered: RenderedBundle) -> tuple[dict[str, Any], ...]:
    """The objects of a rendered bundle, as DEPLOY applies them."""
    objects: list[dict[str, Any]] = []
    for document in rendered.documents:
        try:
            data = yaml.safe_load(document.text)
        except yaml.YAMLError as exc:
            raise RenderError(f"{rendered.renderer} produced invalid YAML: {exc}", file=document.source) from None
        if isinstance(data, dict) and data.get("kind"):
            objects.append(data)
    return tuple(objects)


def keep_rendered(ctx: PhaseContext, rendered: RenderedBundle | None, phase: str) -> None:
    """Write the rendered bundle with the run's evidence (the state dir, mode 0600)."""
    if rendered is not None:
        ctx.evidence.write_text(kept_bundle_name(phase), rendered.text())
