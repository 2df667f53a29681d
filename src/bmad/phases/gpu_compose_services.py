"""The Compose services that use a GPU, with the line each is defined on: what the readiness
catalog's Compose entries (``Scope.COMPOSE``, docs/gpu.md) evaluate.

A service uses a GPU when it asks for one (:func:`bmad.phases.gpu_scope.compose_gpu_requests`) or
sets ``NVIDIA_VISIBLE_DEVICES`` (which reaches devices without reserving them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from bmad.config.models import BmadConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import ConfigError
from bmad.core.yaml_limits import safe_load_limited
from bmad.phases.gpu_scope import NOT_REQUESTED, active_services, compose_gpu_requests, compose_source


@datatype(frozen=True)
class ComposeGpuService:
    """One Compose service that uses a GPU: its definition, how it asks for the GPU, where it is."""

    name: str
    spec: Mapping[str, Any]
    requests: tuple[str, ...]
    line: int


@datatype(frozen=True)
class ComposeGpuServices:
    """The GPU services of the environment's compose file (``source`` as configured)."""

    source: str
    services: tuple[ComposeGpuService, ...] = ()
    problem: str = ""  # why the file could not be read, when it could not

    @property
    def not_applicable(self) -> str:
        return f"{NOT_REQUESTED} ({self.source})"


def sets_visible_devices(spec: Mapping[str, Any]) -> bool:
    env = spec.get("environment")
    if isinstance(env, Mapping):
        return "NVIDIA_VISIBLE_DEVICES" in env
    return isinstance(env, list) and any(str(item).startswith("NVIDIA_VISIBLE_DEVICES") for item in env)


def gpu_services_in_text(text: str, source: str, profiles: Sequence[str] = ()) -> ComposeGpuServices:
    """The active services of a compose file's text that use a GPU (``ConfigError`` when it is not YAML)."""
    services = active_services(safe_load_limited(text, source=source), profiles)
    lines = _service_lines(text)
    found = []
    for name, spec in sorted(services.items()):
        requests = compose_gpu_requests(spec)
        if requests or sets_visible_devices(spec):
            found.append(ComposeGpuService(name, spec, requests, lines.get(name, 1)))
    return ComposeGpuServices(source, tuple(found))


def _service_lines(text: str) -> dict[str, int]:
    """Service name -> the 1-based line of its key under ``services`` (the text already loaded: libyaml
    composes it, same nodes and marks as the pure-Python parser, ~20x faster)."""
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(root, yaml.MappingNode):
        return {}
    for key, value in root.value:
        if key.value == "services" and isinstance(value, yaml.MappingNode):
            return {str(name.value): int(name.start_mark.line) + 1 for name, _ in value.value}
    return {}


def compose_gpu_services(config: BmadConfig, environment: str) -> ComposeGpuServices | None:
    """The GPU services of ``environment``'s compose file (:func:`bmad.phases.gpu_scope.compose_source`);
    None when there is no compose file to read."""
    source = compose_source(config, environment)
    if source is None:
        return None
    if not source.path.is_file():
        return ComposeGpuServices(f"{source.label} not found")
    try:
        return gpu_services_in_text(source.path.read_text(encoding="utf-8"), source.label, source.profiles)
    except ConfigError as error:
        return ComposeGpuServices(source.label, problem=f"{source.label} could not be read: {error}")
