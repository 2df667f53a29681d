"""``measure.gpu_baselines``: per-device GPU figures (utilisation, temperature and the margin to the
slowdown threshold, memory used and total, power) from the DCGM exporter's series in Prometheus
(``gpu.dcgm_selector``), else from ``nvidia-smi --query-gpu`` on this host (artifact
``gpu_baseline``). Not applicable when the service asks for no GPU (docs/gpu.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bmad.core.errors import AdapterError, CommandFailed, Unreachable
from bmad.core.models import CheckResult
from bmad.phases.gpu_scope import gpu_scope
from bmad.phases.measure.checks import prometheus
from bmad.ports.artifacts import BaselineFigure, MeasureArtifacts
from bmad.ports.gpu import GpuProbe, GpuSample
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.gpu_baselines", "GPU baselines captured")
NEEDS: tuple[str, ...] = (prometheus.CHECK.id,)
EXCLUSIVE = False

# (figure name, unit, how the sample gives it, the DCGM PromQL with {m} for the device's matchers);
# the guide's case study 2 names utilisation, temperature with its margin to the threshold, and
# memory used / total. The PromQL lets DEPLOY's verification criteria name these figures.
_FIGURES: tuple[tuple[str, str, Callable[[GpuSample], float | None], str], ...] = (
    ("utilization", "percent", lambda s: s.utilization_percent, "DCGM_FI_DEV_GPU_UTIL{m}"),
    ("temperature", "celsius", lambda s: s.temperature_celsius, "DCGM_FI_DEV_GPU_TEMP{m}"),
    ("temperature_margin", "celsius", lambda s: s.temperature_margin_celsius, ""),
    ("memory_used", "MiB", lambda s: s.memory_used_mib, "DCGM_FI_DEV_FB_USED{m}"),
    ("memory_total", "MiB", lambda s: s.memory_total_mib, "DCGM_FI_DEV_FB_USED{m} + DCGM_FI_DEV_FB_FREE{m}"),
    ("power", "watts", lambda s: s.power_watts, "DCGM_FI_DEV_POWER_USAGE{m}"),
)


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    scope = gpu_scope(ctx.config, ctx.environment_name)
    if not scope.requested or ports.gpu is None:
        return CHECK.skipped(scope.describe() if not scope.requested else "not applicable: no GPU probe wired")
    selector = ctx.config.gpu.dcgm_selector
    try:
        samples, source = _samples(ports, ports.gpu, selector)
    except Unreachable as exc:
        raise prometheus.unreachable(exc, ctx, ports) from None
    except (AdapterError, CommandFailed) as exc:
        return _no_figures(scope.describe(), selector, str(exc))
    figures = gpu_figures(samples, selector if source.startswith("DCGM") else None)
    artifacts = MeasureArtifacts(gpu_baseline=figures).to_artifacts("gpu_baseline")
    artifact_file = ctx.evidence.write_json("measure/gpu_baseline.json", artifacts)
    return CHECK.passed(
        f"{len(samples)} GPU(s) from {source}",
        expected="utilisation, temperature, memory and power of every GPU",
        observed="; ".join(_observed(samples)),
        evidence={"source": source, "requested_by": scope.describe(), **artifacts},
        evidence_files=(artifact_file,),
        artifacts=artifacts,
    )


def _samples(ports: MeasurePorts, probe: GpuProbe, selector: str) -> tuple[tuple[GpuSample, ...], str]:
    """DCGM's series through Prometheus, else ``nvidia-smi`` on this host."""
    samples = probe.dcgm_samples(ports.prometheus, selector)
    if not samples:
        return probe.host_samples(), "nvidia-smi --query-gpu on this host"
    return samples, f"DCGM exporter through Prometheus ({selector})"


def gpu_figures(samples: tuple[GpuSample, ...], selector: str | None) -> dict[str, BaselineFigure]:
    """``gpu<index>_<figure>`` for every device; a value the tool did not report is stored as no data.
    Figures from DCGM (``selector`` given) keep their PromQL; those from ``nvidia-smi`` have none."""
    figures = {}
    for sample in samples:
        matchers = "{" + ",".join(part for part in (selector, f'gpu="{sample.index}"') if part) + "}"
        for name, unit, value_of, promql in _FIGURES:
            value = value_of(sample)
            figures[f"gpu{sample.index}_{name}"] = BaselineFigure(
                query=promql.replace("{m}", matchers) if selector is not None else "",
                unit=unit,
                value=value,
                points=0 if value is None else 1,
                no_data=value is None,
            )
    return figures


def _observed(samples: tuple[GpuSample, ...]) -> list[str]:
    lines = []
    for s in samples:
        margin = s.temperature_margin_celsius
        lines.append(
            f"GPU {s.index} {s.name}: {_n(s.utilization_percent)}% utilised, {_n(s.temperature_celsius)} C"
            + (f" ({_n(margin)} C below slowdown)" if margin is not None else "")
            + f", {_n(s.memory_used_mib)}/{_n(s.memory_total_mib)} MiB, {_n(s.power_watts)} W"
        )
    return lines


def _no_figures(requested_by: str, selector: str, reason: str) -> CheckResult:
    return CHECK.warned(
        "no GPU figures: no DCGM series in Prometheus and nvidia-smi could not be read",
        expected="DCGM exporter series or nvidia-smi on the host",
        observed=f"Prometheus: no series for {selector}; nvidia-smi: {reason}",
        fix="scrape the DCGM exporter (gpu.dcgm_selector names its series) or install nvidia-smi on this host",
        evidence={"requested_by": requested_by},
    )


def _n(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"
