"""What the GPU checks ask of a host (docs/gpu.md): per-device samples from the DCGM exporter's
series or ``nvidia-smi``, and the NVIDIA Container Toolkit's version, advisories and mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bmad.ports.metrics import MetricsQuery


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
