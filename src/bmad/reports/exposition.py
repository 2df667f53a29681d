"""Framework metrics and DORA keys in the Prometheus text exposition format (``bmad metrics --format prometheus``).

A figure that is not known (no deployments, no rollbacks) is left out, never written as 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bmad.reports.metrics import FrameworkMetrics


class _Gauges:
    """Gauges in the order first set, each with its samples in the order set (what the text format lists).

    Written here rather than with ``prometheus_client`` (whose import is a good part of ``bmad metrics``);
    a test holds the text byte-identical to ``prometheus_client.generate_latest``."""

    def __init__(self) -> None:
        self._docs: dict[str, str] = {}
        self._samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}

    def set(self, name: str, doc: str, labels: dict[str, str], value: float) -> None:
        self._docs.setdefault(name, doc)
        self._samples.setdefault(name, {})[tuple(sorted(labels.items()))] = float(value)

    def text(self) -> str:
        lines: list[str] = []
        for name, doc in self._docs.items():
            lines.append(f"# HELP {name} {_help_text(doc)}")
            lines.append(f"# TYPE {name} gauge")
            for labels, value in self._samples[name].items():
                pairs = ",".join(f'{key}="{_label_value(text)}"' for key, text in labels)
                lines.append(f"{name}{{{pairs}}} {go_float(value)}" if pairs else f"{name} {go_float(value)}")
        return "".join(line + "\n" for line in lines)


def _help_text(doc: str) -> str:
    return doc.replace("\\", "\\\\").replace("\n", "\\n")


def _label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def go_float(value: float) -> str:
    """``value`` as the text format writes it: Go's notation (``+Inf``, ``NaN``, ``1.5e+07``)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:  # Go writes large numbers with an exponent sooner than Python does
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+0{dot - 1}"
    return text


def render_prometheus(metrics: FrameworkMetrics) -> str:
    gauges = _Gauges()
    base = {"service": metrics.service or "", "env": metrics.environment or ""}

    def gauge(name: str, doc: str, value: float | None, **labels: str) -> None:
        if value is not None:
            gauges.set(name, doc, {**base, **labels}, value)

    for result, count in metrics.by_result.items():
        gauge("bmad_framework_releases", "Releases in the period by result", float(count), result=result)
    gauge("bmad_framework_deployments", "Releases that reached DEPLOY in the period", float(metrics.deployments))
    gauge("bmad_framework_success_ratio", "Successful deployments / deployments", metrics.success_rate)
    gauge("bmad_framework_rollback_ratio", "Rolled-back deployments / deployments", metrics.rollback_rate)
    gauge("bmad_framework_zero_downtime_ratio", "Zero-downtime deployments / recorded", metrics.zero_downtime_share)
    stats: dict[str, Callable[[], float | None]] = {
        "mean": lambda: metrics.deployment_time.mean,
        "p50": lambda: metrics.deployment_time.p50,
        "p90": lambda: metrics.deployment_time.p90,
    }
    for stat, value in stats.items():
        gauge("bmad_framework_deployment_time_seconds", "First phase start to DEPLOY end", value(), stat=stat)
    gauge("bmad_framework_mttr_seconds", "Mean detection-to-recovery time of rollbacks", metrics.mttr.mean)
    gauge("bmad_framework_unrecovered_rollbacks", "Rollbacks that never recovered", float(metrics.unrecovered))
    dora = metrics.dora
    gauge(
        "bmad_dora_deployment_frequency_per_day",
        "Successful deployments per day",
        dora.deployment_frequency_per_day,
    )
    gauge("bmad_dora_lead_time_seconds", "Median commit-to-deploy time", dora.lead_time.p50)
    gauge("bmad_dora_change_failure_ratio", "Failed or rolled-back deployments / deployments", dora.change_failure_rate)
    gauge("bmad_dora_time_to_restore_seconds", "Median detection-to-recovery time", dora.time_to_restore.p50)
    return gauges.text()
