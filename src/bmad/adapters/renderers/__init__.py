"""Renderers of a bundle source: ``kubectl kustomize`` and Helm (``helm template`` when a helm binary
is on PATH, else Helm's Go SDK through PyPI helm-python-sdk)."""

from __future__ import annotations

import shutil
from pathlib import Path

from bmad.config.bundle_source import BundleSourceConfig
from bmad.ports.renderer import BundleRenderer

from .helm_chart import HelmRelease
from .helm_cli import HelmTemplateRenderer
from .helm_sdk import HelmSdkRenderer
from .kustomize import KustomizeRenderer


def renderer_for(source: BundleSourceConfig, *, base_dir: Path, service: str, namespace: str) -> BundleRenderer:
    """The renderer of a kustomize or helm source (a folder source needs none)."""
    if source.kind == "kustomize" and source.kustomize:
        return KustomizeRenderer(base_dir / source.kustomize, base_dir=base_dir)
    if source.kind == "helm" and source.helm is not None:
        helm = source.helm
        release = HelmRelease(
            chart=base_dir / helm.chart,
            values_files=tuple(base_dir / v for v in helm.values),
            set_values=tuple(helm.set.items()),
            release=helm.release or service,
            namespace=helm.namespace or namespace,
            base_dir=base_dir,
        )
        binary = shutil.which("helm")
        return HelmTemplateRenderer(release, helm=binary) if binary else HelmSdkRenderer(release)
    raise ValueError(f"no renderer for a {source.kind} source")


__all__ = ["HelmRelease", "HelmSdkRenderer", "HelmTemplateRenderer", "KustomizeRenderer", "renderer_for"]
