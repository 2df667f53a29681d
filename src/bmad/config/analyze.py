"""The ``analyze:`` section of bmad.yaml (owned by the ANALYZE phase)."""

from __future__ import annotations

from bmad.config.base import Model


class AnalyzeConfig(Model):
    manifests: str | None = None  # folder of Kubernetes manifests; detected when not given
    kubernetes_version: str = "1.30"
