"""deploy.gpu_available: "GPU availability validated" (the guide's case study 2): every running
container of the new release (in Compose mode: of its services that request a GPU) sees a GPU
(``nvidia-smi -L`` inside it, else the NVIDIA or CDI device the engine gave it). Listed only where a
GPU request can be read (``phases/gpu_scope.py``); "not applicable: no GPU requested" when the
service asks for none. On the Kubernetes target: ``gpu_pods.judge`` (pods with an ``nvidia.com/gpu``
limit on nodes that advertise one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult
from bmad.phases.deploy.checks import gpu_pods, rollout
from bmad.phases.deploy.ports import DeployPorts, now
from bmad.phases.gpu_scope import gpu_scope
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("deploy.gpu_available", "GPU availability validated")
NEEDS = (rollout.CHECK.id,)


def run(ctx: PhaseContext, ports: DeployPorts) -> CheckResult:
    scope = gpu_scope(ctx.config, ctx.environment_name)
    if ports.pods is not None:
        return gpu_pods.judge(CHECK, ports.pods, ports.spec.service)
    if not scope.requested:
        return CHECK.skipped(scope.describe())
    if ports.gpu is None or ports.target.kind != "local":
        return CHECK.skipped(
            f"not applicable: containers are looked into on the local target only ({ports.target.kind} target)"
        )
    containers = release_containers(ports.target.status(ports.spec.service, ports.spec.environment), ports.spec.version)
    if ctx.environment.target.local.compose is not None and scope.requests:  # Compose mode: its GPU services only
        containers = [name for name in containers if ports.gpu.compose_service(name) in scope.requests]
    seen: dict[str, tuple[str, ...] | str] = {}
    for name in containers:
        try:
            seen[name] = ports.gpu.container_devices(name)
        except AdapterError as exc:
            seen[name] = f"could not look: {exc.message}"
    blind = [name for name, devices in seen.items() if not devices or isinstance(devices, str)]
    observed = "; ".join(f"{name}: {_shown(devices)}" for name, devices in seen.items()) or "no running container"
    evidence = {"requested_by": scope.describe(), "containers": {n: _shown(d) for n, d in seen.items()}}
    if blind or not containers:
        evidence["detected_at"] = now().isoformat()
        return CHECK.failed(
            f"{len(blind)}/{len(containers)} containers see no GPU",
            expected="every container of the release sees a GPU",
            observed=observed,
            fix="give the containers the GPU (CDI device nvidia.com/gpu=all, or a device reservation with "
            "capabilities: [gpu]) and check the NVIDIA Container Toolkit on the host (analyze.gpu_host)",
            evidence=evidence,
        )
    return CHECK.passed(
        f"{len(containers)}/{len(containers)} containers see a GPU",
        expected="every container of the release sees a GPU",
        observed=observed,
        evidence=evidence,
    )


def release_containers(status: Mapping[str, Any], release: str) -> list[str]:
    """Names of the running containers of ``release`` in the local target's status."""
    return [
        str(replica["name"])
        for generation in status.get("generations") or []
        if generation.get("release") == release
        for replica in generation.get("replicas") or []
        if replica.get("status") == "running"
    ]


def _shown(devices: tuple[str, ...] | str) -> str:
    if isinstance(devices, str):
        return devices
    return ", ".join(devices) or "no GPU"
