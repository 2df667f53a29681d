"""A rendered bundle (kustomize, Helm) read for the checks: each object points at the file it came
from (the Helm template, the kustomize resource) and at its line there when the renderer found it.
Field paths inside a rendered object all point at that line: rendered text has no lines of its own
in the source (templates expand, kustomize reorders keys)."""

from __future__ import annotations

from bmad.phases.analyze.manifest_files import parse_manifest_text
from bmad.phases.analyze.manifests import Bundle, ManifestObject
from bmad.ports.renderer import RenderedBundle


def load_rendered(rendered: RenderedBundle, *, default_namespace: str | None = None) -> Bundle:
    bundle = Bundle(source=f"{rendered.source} ({rendered.renderer})")
    for document in rendered.documents:
        if document.source not in bundle.files:
            bundle.files.append(document.source)
        objects, findings = parse_manifest_text(
            document.text, file=document.source, default_namespace=default_namespace
        )
        bundle.findings.extend(findings)
        bundle.objects.extend(
            ManifestObject(
                data=obj.data, file=obj.file, line=document.line or 1, default_namespace=obj.default_namespace
            )
            for obj in objects
        )
    return bundle
