"""The ``build:`` section of bmad.yaml (owned by the BUILD phase)."""

from __future__ import annotations

from bmad.config.base import Model


class BuildConfig(Model):
    containerfile: str | None = None  # detected (Containerfile, then Dockerfile) when not given
    context: str = "."
    registry: str = "127.0.0.1:5000"
    image: str | None = None  # repository name inside the registry; default: service name
    size_budget_mb: float = 500.0
