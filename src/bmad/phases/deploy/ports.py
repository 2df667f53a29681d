"""What DEPLOY's checks work with: the adapters (its ports) and the state they hand each other.

One :class:`DeployPorts` per phase run; every check's ``run(ctx, ports)`` gets it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from bmad.config.deploy import AutoscalingConfig, DeployConfig
from bmad.core.datatypes import datatype
from bmad.phases.deploy.probes import DowntimeProber, DowntimeReport
from bmad.ports.gpu import GpuProbe, PodGpuView
from bmad.ports.loadtest import LoadGenerator
from bmad.ports.metrics import MetricsQuery
from bmad.ports.target import AutoscalerWatch, DeploySpec, HttpProbe, SuiteRunner, Target


def now() -> datetime:
    """The wall-clock time failures are stamped with (``detected_at``: MTTR starts there)."""
    return datetime.now(UTC)


@datatype
class DeployState:
    """What the checks of one run hand each other, and what finish() and metrics() read."""

    prober: DowntimeProber  # probes whatever serves from the apply until the cut-over
    started: float | None = None  # monotonic time of the apply
    applied: bool = False  # the target changed: a later failure triggers the rollback
    downtime: DowntimeReport | None = None
    discovery: dict[str, Any] | None = None  # the file_sd target group the cut-over wrote
    rollback: dict[str, Any] | None = None  # what the rollback did (reason, times, MTTR)

    def stop_prober(self) -> DowntimeReport:
        if self.downtime is None:
            self.downtime = self.prober.stop()
        return self.downtime


@datatype(frozen=True)
class DeployPorts:
    """The adapters and settings of one DEPLOY run, handed to every check."""

    target: Target
    spec: DeploySpec
    config: DeployConfig
    probe: HttpProbe
    state: DeployState
    suite: SuiteRunner | None = None
    metrics_query: MetricsQuery | None = None
    repository_dir: str = "."
    job: str = ""  # the scrape job the verification queries use
    discovery_timeout: float = 20.0  # how long to wait for Prometheus to scrape the new replicas
    gpu: GpuProbe | None = None  # looks into the release's containers (deploy.gpu_available)
    pods: PodGpuView | None = None  # the Kubernetes target's pods and nodes (deploy.gpu_available)
    autoscaling: AutoscalingConfig = field(default_factory=AutoscalingConfig)  # this environment's deploy.autoscaling
    autoscalers: AutoscalerWatch | None = None  # the cluster's HPAs (None: the target has none)
    load_generator: Callable[[str], LoadGenerator] | None = None  # a new generator for that URL (deploy.autoscaling)
