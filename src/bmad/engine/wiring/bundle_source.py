"""The environment's bundle when it is rendered (kustomize, Helm): rendered once per command, before
any check runs; a source that does not render is a configuration error (exit 2).

Several wirings of a phase need the bundle (the checks, the release spec, the server dry-run), and
``bmad run`` needs it in ANALYZE and DEPLOY: a render is kept for the process and reused while the
source settings, PATH and the contents of every file the render reads are unchanged."""

from __future__ import annotations

import os
from typing import Any

import yaml

from bmad.config.models import BmadConfig
from bmad.core.yaml_limits import yaml_error
from bmad.core.yaml_nodes import safe_load
from bmad.ports.phase import PhaseContext
from bmad.ports.renderer import RenderedBundle, RenderError, kept_bundle_name

_RENDERED: dict[tuple[str, ...], RenderedBundle] = {}  # one entry per rendered source and its inputs


def renders(config: BmadConfig, environment: str) -> bool:
    """Whether ANALYZE and DEPLOY read a rendered bundle (a kustomize or helm source), not a folder."""
    target = config.environment(environment).target
    return target.kind == "kubernetes" and target.kubernetes.source.kind != "folder"


def render_bundle(config: BmadConfig, environment: str) -> RenderedBundle | None:
    """The rendered bundle of a kustomize or helm source (rendered once while its inputs are unchanged);
    None for a folder (read as written)."""
    if not renders(config, environment):
        return None
    target = config.environment(environment).target
    source = target.kubernetes.source
    from bmad.adapters.renderers import renderer_for  # ~2 ms: only a source that renders
    from bmad.adapters.renderers.fingerprint import source_fingerprint

    namespace = target.kubernetes.namespace or "default"
    base_dir = config.base_dir
    key = (
        str(base_dir),
        config.service.name,
        namespace,
        os.environ.get("PATH", ""),
        source_fingerprint(source, base_dir),
    )
    if key not in _RENDERED:
        renderer = renderer_for(source, base_dir=base_dir, service=config.service.name, namespace=namespace)
        _RENDERED[key] = renderer.render()
    return _RENDERED[key]


def rendered_objects(rendered: RenderedBundle) -> tuple[dict[str, Any], ...]:
    """The objects of a rendered bundle, as DEPLOY applies them."""
    objects: list[dict[str, Any]] = []
    for document in rendered.documents:
        try:
            data = safe_load(document.text)
        except yaml.YAMLError as exc:
            what = f"{rendered.renderer} produced invalid YAML"
            raise yaml_error(exc, document.source, what=what, error=RenderError) from None
        if isinstance(data, dict) and data.get("kind"):
            objects.append(data)
    return tuple(objects)


def keep_rendered(ctx: PhaseContext, rendered: RenderedBundle | None, phase: str) -> None:
    """Write the rendered bundle with the run's evidence (the state dir, mode 0600)."""
    if rendered is not None:
        ctx.evidence.write_text(kept_bundle_name(phase), rendered.text())
