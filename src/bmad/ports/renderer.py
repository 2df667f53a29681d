"""A renderer turns a bundle source (a kustomization, a Helm chart) into Kubernetes YAML documents,
each with the file it came from, so that findings point at the template and not at rendered text."""

from __future__ import annotations

from typing import Protocol

from bmad.core.datatypes import datatype
from bmad.core.errors import ConfigError


@datatype(frozen=True)
class RenderedDocument:
    """One YAML document of the output, and its origin: a template or resource file and, when found,
    the line of the object in that file."""

    source: str  # relative to bmad.yaml's folder when inside it
    text: str
    line: int | None = None


@datatype(frozen=True)
class RenderedBundle:
    """The renderer's whole output for one environment."""

    renderer: str  # e.g. "kubectl kustomize", "helm template", "helm-python-sdk"
    source: str  # the kustomization folder or the chart
    documents: tuple[RenderedDocument, ...]

    def text(self) -> str:
        """The bundle as one multi-document YAML file, each document after a ``# Source:`` line."""
        parts = [f"# Source: {d.source}\n{d.text.rstrip()}\n" for d in self.documents]
        return "---\n".join(parts)


def kept_bundle_name(phase: str) -> str:
    """Where a phase keeps the rendered bundle in its run's evidence folder."""
    return f"{phase}/bundle.yaml"


class BundleRenderer(Protocol):
    """Renders one source; a source that does not render raises :class:`RenderError`."""

    def render(self) -> RenderedBundle: ...


class RenderError(ConfigError):
    """The source does not render (template error, missing values file, missing base): exit 2."""
