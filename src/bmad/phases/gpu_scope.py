"""Whether the GPU checks apply to this service: a compose file's GPU requests or ``gpu.requested``
(docs/gpu.md). Shared by the GPU checks of MEASURE, ANALYZE and DEPLOY.

A Compose service asks for a GPU with ``deploy.resources.reservations.devices`` with
``capabilities: [gpu]`` (or ``driver: nvidia``), ``gpus:``, or a CDI device name
(``nvidia.com/gpu=0``) under ``devices:``. A Kubernetes container asks for one with an
``nvidia.com/gpu`` entry in ``resources.limits`` (:func:`kubernetes_gpu_limit`; the device plugin
schedules GPUs by limits: https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from bmad.config.models import BmadConfig
from bmad.core.datatypes import datatype
from bmad.core.yaml_limits import safe_load_limited

CDI_DEVICE = re.compile(r"^[a-z0-9.-]+/[a-z0-9._-]+=\S+$")


def compose_gpu_requests(service: Mapping[str, Any]) -> tuple[str, ...]:
    """How one Compose service asks for a GPU (empty: it does not). A part of the wrong type (``deploy:
    []``, a device that is a number) asks for nothing: this reads a file Compose validates, and a
    misshapen one is Compose's error to report, not a reason for ANALYZE to stop."""
    found: list[str] = []
    reservations = _mapping(_mapping(_mapping(service.get("deploy")).get("resources")).get("reservations"))
    for device in _items(reservations.get("devices")):
        if not isinstance(device, dict):
            continue
        if "gpu" in _items(device.get("capabilities")) or device.get("driver") == "nvidia":
            found.append(
                f"device reservation ({device.get('driver', 'any driver')}, count {device.get('count', 'all')})"
            )
    if service.get("gpus"):
        found.append(f"gpus: {service['gpus']}")
    for device in _items(service.get("devices")):
        name = device if isinstance(device, str) else str(_mapping(device).get("source", ""))
        if CDI_DEVICE.match(name) and "gpu" in name:
            found.append(f"CDI device {name}")
    return tuple(found)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


NOT_REQUESTED = "not applicable: no GPU requested"
GPU_RESOURCE = "nvidia.com/gpu"


def kubernetes_gpu_limit(limits: Mapping[str, Any]) -> int:
    """How many GPUs a Kubernetes container's ``resources.limits`` ask for (0: none or not a count)."""
    try:
        return max(0, int(str(limits.get(GPU_RESOURCE, 0))))
    except ValueError:
        return 0


def gpu_requests_by_service(services: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """The services (name -> definition) that ask for a GPU, with how; empty: the GPU checks do not apply."""
    found = {name: compose_gpu_requests(definition) for name, definition in services.items()}
    return {name: how for name, how in found.items() if how}


def compose_services(path: Path, profiles: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """The active ``services`` of a compose file, name -> definition: those without ``profiles`` and
    those of an enabled profile (``ConfigError`` when it is not YAML)."""
    return active_services(safe_load_limited(path.read_text(encoding="utf-8"), source=str(path)), profiles)


def active_services(document: Any, profiles: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The active services of a parsed compose document (see :func:`compose_services`)."""
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict):
        return {}
    return {
        str(name): spec
        for name, spec in services.items()
        if isinstance(spec, dict) and _active(spec.get("profiles"), profiles)
    }


def _active(declared: Any, enabled: Sequence[str]) -> bool:
    """Whether a service with ``profiles: declared`` runs with ``enabled`` (a list of names, as Compose
    has it; anything else counts as none declared)."""
    names = {str(name) for name in _items(declared) if isinstance(name, str | int | float | bool)}
    return not names or bool(names & set(enabled))


def gpu_requests_in_compose_file(path: Path, profiles: Sequence[str] = ()) -> dict[str, tuple[str, ...]]:
    """The active services of a compose file that ask for a GPU, with how."""
    return gpu_requests_by_service(compose_services(path, profiles))


@datatype(frozen=True)
class GpuScope:
    """What asks for a GPU (service name -> how) and where bmad read it."""

    source: str
    requests: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    forced: bool = False

    @property
    def requested(self) -> bool:
        return self.forced or bool(self.requests)

    def describe(self) -> str:
        if self.forced:
            return "gpu.requested is true"
        if not self.requests:
            return f"{NOT_REQUESTED} ({self.source})"
        return "; ".join(f"{name}: {', '.join(how)}" for name, how in sorted(self.requests.items()))


@datatype(frozen=True)
class ComposeSource:
    """The compose file whose services say whether a GPU is requested, and its enabled profiles."""

    label: str  # as configured (shown in results)
    path: Path
    profiles: tuple[str, ...] = ()


def compose_source(config: BmadConfig, environment: str) -> ComposeSource | None:
    """``gpu.compose`` (with ``gpu.profiles``), else the environment's Compose-mode file
    (``target.local.compose``), else the first BUILD suite environment's compose file."""
    if config.gpu.compose:
        return ComposeSource(config.gpu.compose, config.repository_dir / config.gpu.compose, tuple(config.gpu.profiles))
    target = config.environment(environment).target
    if target.kind == "local" and target.local.compose is not None:
        mode = target.local.compose
        return ComposeSource(mode.file, config.resolve_path(mode.file), tuple(mode.profiles))
    for suite in config.build.suites:
        if suite.environment is not None and suite.environment.compose:
            compose = suite.environment.compose
            return ComposeSource(compose, config.repository_dir / compose, tuple(suite.environment.profiles))
    return None


def gpu_checks_listed(config: BmadConfig, environment: str) -> bool:
    """The GPU checks take part only where bmad can tell whether a GPU is asked for: a compose file
    (where they may still report "not applicable: no GPU requested") or ``gpu.requested``."""
    return config.gpu.requested or compose_source(config, environment) is not None


def gpu_scope(config: BmadConfig, environment: str) -> GpuScope:
    """What asks for a GPU in the compose file of ``environment`` (``ConfigError`` when it is not YAML)."""
    source = compose_source(config, environment)
    if source is None:
        return GpuScope(source="no compose file", forced=config.gpu.requested)
    if not source.path.is_file():
        return GpuScope(source=f"{source.label} not found", forced=config.gpu.requested)
    requests = gpu_requests_in_compose_file(source.path, source.profiles)
    return GpuScope(source=source.label, requests=requests, forced=config.gpu.requested)
