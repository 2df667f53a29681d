"""What the GPU checks ask of a host (docs/gpu.md): per-device samples from the DCGM exporter's
series or ``nvidia-smi``, and the NVIDIA Container Toolkit's version, advisories and mode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from bmad.core.datatypes import datatype
from bmad.ports.metrics import MetricsQuery


@datatype(frozen=True)
class GpuSample:
    """One device at one moment; ``None`` where the tool did not report the value."""

    index: int
    uuid: str
    name: str = ""
    utilization_percent: float | None = None
    temperature_celsius: float | None = None
    slowdown_temperature_celsius: float | None = None
    memory_used_mib: float | None = None
    memory_total_mib: float | None = None
    power_watts: float | None = None
    ecc_uncorrected: int | None = None
    last_xid: int | None = None
    throttle_reasons: tuple[str, ...] = ()

    @property
    def temperature_margin_celsius(self) -> float | None:
        """Degrees left before the GPU slows itself down."""
        if self.temperature_celsius is None or self.slowdown_temperature_celsius is None:
            return None
        return self.slowdown_temperature_celsius - self.temperature_celsius


@datatype(frozen=True)
class ToolkitFacts:
    """The host's NVIDIA Container Toolkit: version, the advisories it is still exposed to, its mode."""

    version: tuple[int, ...]
    unfixed: tuple[str, ...]  # "CVE-2025-23266 (fixed in 1.17.8; <bulletin>)"
    mode: str  # cdi, legacy or auto
    mode_note: str  # where the mode was read


class GpuProbe(Protocol):
    def dcgm_samples(self, prometheus: MetricsQuery, selector: str) -> tuple[GpuSample, ...]:
        """The latest DCGM exporter values Prometheus holds for ``selector`` (empty: no series), with
        the slowdown thresholds the host's ``nvidia-smi`` reports where it has one."""
        ...

    def host_samples(self) -> tuple[GpuSample, ...]:
        """This host's GPUs from ``nvidia-smi`` (``AdapterError`` when it is missing or fails)."""
        ...

    def toolkit(self, config_file: str) -> ToolkitFacts | None:
        """The NVIDIA Container Toolkit on this host (None: ``nvidia-ctk`` is not installed)."""
        ...

    def faults(self, prometheus: MetricsQuery | None, selector: str) -> tuple[str, ...]:
        """GPU faults to name in ``diagnose``: Xid errors (kernel log, DCGM), uncorrected ECC errors,
        thermal or hardware-slowdown throttling."""
        ...

    def container_devices(self, container: str) -> tuple[str, ...]:
        """The GPUs a running container sees: ``nvidia-smi -L`` inside it, else the NVIDIA or CDI
        devices the engine gave it (empty: none; ``AdapterError`` when the engine cannot tell)."""
        ...

    def compose_service(self, container: str) -> str | None:
        """The compose service a container of the local target's Compose mode runs (None: not one)."""
        ...


@datatype(frozen=True)
class PodFacts:
    """One pod of a Kubernetes release as ``deploy.gpu_available`` judges it."""

    name: str
    phase: str
    ready: bool
    node: str  # empty: not scheduled
    node_allocatable: Mapping[str, str] | str  # the node's status.allocatable, or why it could not be read
    container_limits: tuple[tuple[str, Mapping[str, str]], ...]  # (container, resources.limits)
    unschedulable: str = ""  # the scheduler's message while the pod is Pending


@runtime_checkable
class PodGpuView(Protocol):
    """The Kubernetes target's pods and nodes, for ``deploy.gpu_available``."""

    def release_pods(self, service: str) -> tuple[PodFacts, ...]:
        """The pods of the service's workload, with their node's allocatable resources."""
        ...

    def may_exec(self) -> bool:
        """Whether the identity may ``create pods/exec`` in the target's namespace."""
        ...
