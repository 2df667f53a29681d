"""The ``deploy:`` section and the per-environment ``target:`` (owned by the DEPLOY phase)."""

from __future__ import annotations

from typing import Literal

from bmad.config.base import Model


class LocalTargetConfig(Model):
    replicas: int = 2
    port: int = 8080  # the container port the service listens on
    host_port_base: int = 18080  # replica i publishes on 127.0.0.1:(base + i)
    env: dict[str, str] = {}


class KubernetesTargetConfig(Model):
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    deployment: str | None = None  # default: service name


class TargetConfig(Model):
    kind: Literal["local", "kubernetes"] = "local"
    local: LocalTargetConfig = LocalTargetConfig()
    kubernetes: KubernetesTargetConfig = KubernetesTargetConfig()


class DeployConfig(Model):
    health_path: str = "/health"
    metrics_path: str = "/metrics"
    rollout_timeout_seconds: float = 300.0
