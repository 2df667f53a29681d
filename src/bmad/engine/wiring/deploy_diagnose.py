"""``bmad diagnose``: the guide's troubleshooting, automated (the target's findings plus p95 latency)."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from bmad.config.models import BmadConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.engine.wiring.deploy import make_target
from bmad.phases.gpu_scope import gpu_scope
from bmad.ports.gpu import GpuProbe
from bmad.ports.metrics import MetricsQuery
from bmad.ports.target import Diagnosis, Target


@datatype
class DiagnoseReport:
    """What ``bmad diagnose`` reports: the target's status and its troubleshooting findings."""

    service: str
    environment: str
    target: str
    status: dict[str, Any]
    findings: list[Diagnosis] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "target": self.target,
            "status": self.status,
            "findings": [f.to_dict() for f in self.findings],
        }


LATENCY_QUERY = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="$job"}[5m])))'


def diagnose_environment(
    config: BmadConfig,
    environment: str,
    *,
    target: Target | None = None,
    latency_threshold_seconds: float = 0.5,
    metrics_query: MetricsQuery | None = None,
    gpu: GpuProbe | None = None,
) -> DiagnoseReport:
    """The guide's troubleshooting, automated: the target's findings plus p95 latency from Prometheus."""
    service = config.service.name
    target = target or make_target(config, environment)
    status = target.status(service, environment)
    findings = list(target.diagnose(service, environment))
    job = config.measure.scrape_job or service
    if metrics_query is None:
        from bmad.adapters.prometheus import PrometheusClient

        metrics_query = PrometheusClient(config.environment(environment).monitoring.prometheus_url, timeout=5.0)
    latency = _high_latency(metrics_query, job, latency_threshold_seconds)
    if latency is not None:
        findings.append(latency)
    findings += gpu_findings(config, environment, metrics_query, gpu)
    return DiagnoseReport(service, environment, target.kind, status, findings)


def gpu_findings(
    config: BmadConfig, environment: str, metrics_query: MetricsQuery, gpu: GpuProbe | None
) -> list[Diagnosis]:
    """One finding per GPU fault, where the service asks for a GPU (docs/gpu.md)."""
    if not gpu_scope(config, environment).requested:
        return []
    if gpu is None:
        from bmad.adapters.gpu_host import HostGpuProbe

        gpu = HostGpuProbe()
    try:
        faults = gpu.faults(metrics_query, config.gpu.dcgm_selector)
    except AdapterError:
        faults = gpu.faults(None, config.gpu.dcgm_selector)  # Prometheus down: the host's own view
    return [
        Diagnosis(
            symptom="GPU fault",
            object=fault.split(":")[0] if fault.startswith("GPU ") else "host/kernel-log",
            evidence=[fault],
            causes=["faulty or overheating GPU", "driver or firmware fault", "power or cooling limits"],
            fixes=[
                "drain the GPU's workloads and reset it (nvidia-smi -r) or reboot the host",
                "check cooling and power limits (nvidia-smi -q -d PERFORMANCE,TEMPERATURE)",
                "look the Xid up in NVIDIA's Xid catalog; replace the board after repeated ECC or bus errors",
            ],
        )
        for fault in faults
    ]


def _high_latency(metrics_query: MetricsQuery, job: str, threshold_seconds: float) -> Diagnosis | None:
    """A finding when the job's p95 latency is above the threshold; None otherwise (or without data)."""
    query = LATENCY_QUERY.replace("$job", job)
    try:
        samples = metrics_query.query(query)
    except AdapterError:
        samples = []
    values = [s.value for s in samples if s.value == s.value]  # NaN != NaN
    if not values or max(values) <= threshold_seconds:
        return None
    return Diagnosis(
        symptom="High latency after deployment",
        object=f"job/{job}",
        evidence=[
            f"p95 latency {max(values) * 1000:.0f} ms > {threshold_seconds * 1000:.0f} ms",
            f"query: {query}",
        ],
        causes=[
            "under-provisioned resources",
            "database query performance",
            "external service latency",
            "insufficient replicas",
        ],
        fixes=[
            "scale up immediately (more replicas)",
            "review HPA thresholds (may be too conservative)",
            "check database performance (EXPLAIN ANALYZE slow queries)",
        ],
    )
