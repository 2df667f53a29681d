"""Whether the GPU checks apply to this service: a compose file's GPU requests or ``gpu.requested``
(docs/gpu.md). Shared by the GPU checks of MEASURE, ANALYZE and DEPLOY."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bmad.adapters.gpu_host import NOT_REQUESTED, gpu_requests_in_compose_file
from bmad.config.models import BmadConfig


@dataclass(frozen=True)
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


def compose_file_of(config: BmadConfig) -> str | None:
    """``gpu.compose``, else the first BUILD suite environment's compose file."""
    if config.gpu.compose:
        return config.gpu.compose
    for suite in config.build.suites:
        if suite.environment is not None and suite.environment.compose:
            return suite.environment.compose
    return None


def gpu_scope(config: BmadConfig) -> GpuScope:
    compose = compose_file_of(config)
    if compose is None:
        return GpuScope(source="no compose file", forced=config.gpu.requested)
    requests = gpu_requests_in_compose_file(config.repository_dir / compose)
    return GpuScope(source=compose, requests=requests, forced=config.gpu.requested)
