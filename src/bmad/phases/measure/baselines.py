"""Baseline figures: one PromQL query each, captured as the value now plus a summary over a window.

"No data" is explicit: an empty answer, or only NaN/Inf values (a ratio over no traffic), is
``no_data: true`` with ``value: null`` and follows the query's policy (fail / warn / skip) —
never a silent zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bmad.config.measure import BaselineQuery, NoDataPolicy
from bmad.core.errors import AdapterError
from bmad.core.models import CheckStatus
from bmad.ports.metrics import MetricsQuery, Sample, Series


@dataclass
class Baseline:
    name: str
    query: str
    unit: str
    policy: NoDataPolicy
    value: float | None = None
    minimum: float | None = None
    average: float | None = None
    maximum: float | None = None
    p95: float | None = None
    points: int = 0
    series: int = 0
    window_seconds: float = 0.0
    error: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def no_data(self) -> bool:
        return self.value is None and not self.error

    @property
    def status(self) -> CheckStatus:
        if self.error:
            return CheckStatus.FAIL
        if self.no_data:
            return {"fail": CheckStatus.FAIL, "warn": CheckStatus.WARN, "skip": CheckStatus.SKIP}[self.policy]
        if self.notes:
            return CheckStatus.WARN
        return CheckStatus.PASS

    def to_artifact(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "unit": self.unit,
            "value": self.value,
            "min": self.minimum,
            "avg": self.average,
            "max": self.maximum,
            "p95": self.p95,
            "window": self.window_seconds,
            "points": self.points,
            "no_data": self.no_data,
            "no_data_policy": self.policy,
            "error": self.error or None,
        }


def finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(len(ordered) * pct / 100))
    return ordered[min(rank, len(ordered)) - 1]


def current_value(samples: Sequence[Sample]) -> tuple[float | None, int]:
    """The figure of an instant answer: the one finite value, the sum when several series answer."""
    values = finite([s.value for s in samples])
    if not values:
        return None, len(samples)
    return math.fsum(values), len(samples)


def window_points(series: Sequence[Series]) -> list[float]:
    """One value per timestamp (summed across series, like ``current_value``), finite values only."""
    by_time: dict[float, float] = {}
    for one in series:
        for ts, value in one.points:
            if math.isfinite(value):
                by_time[ts] = by_time.get(ts, 0.0) + value
    return [by_time[ts] for ts in sorted(by_time)]


def capture(
    metrics: MetricsQuery,
    spec: BaselineQuery,
    *,
    query: str,
    policy: NoDataPolicy,
    at: datetime,
    window_seconds: float,
    step_seconds: float,
) -> Baseline:
    baseline = Baseline(name=spec.name, query=query, unit=spec.unit, policy=policy, window_seconds=window_seconds)
    try:
        samples = metrics.query(query, at=at)
        series = metrics.query_range(
            query, start=at - timedelta(seconds=window_seconds), end=at, step_seconds=step_seconds
        )
    except AdapterError as exc:
        if exc.status is None:  # unreachable: the whole check cannot find out
            raise
        baseline.error = exc.detail or exc.message
        return baseline
    baseline.value, baseline.series = current_value(samples)
    if baseline.series > 1:
        baseline.notes.append(
            f"the query returned {baseline.series} series; their sum was taken (aggregate the query, e.g. sum(...))"
        )
    points = window_points(series)
    baseline.points = len(points)
    if points:
        baseline.minimum = min(points)
        baseline.maximum = max(points)
        baseline.average = math.fsum(points) / len(points)
        baseline.p95 = percentile(points, 95)
    return baseline


# The guide's `kubectl top pods` / `kubectl top nodes` baselines, from cAdvisor and node-exporter metrics.
KUBE_BREAKDOWNS: dict[str, tuple[str, dict[str, str]]] = {
    "baseline_pods": (
        "pod",
        {
            "cpu_cores": 'sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="{namespace}",container!=""}'
            "[{rate_window}]))",
            "memory_bytes": 'sum by (pod) (container_memory_working_set_bytes{namespace="{namespace}",container!=""})',
        },
    ),
    "baseline_nodes": (
        "instance",
        {
            "cpu_ratio": '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[{rate_window}]))',
            "memory_ratio": "1 - sum by (instance) (node_memory_MemAvailable_bytes) "
            "/ sum by (instance) (node_memory_MemTotal_bytes)",
        },
    ),
}


def capture_breakdown(
    metrics: MetricsQuery, *, label: str, queries: dict[str, str], at: datetime
) -> dict[str, dict[str, float]]:
    """``{label value: {figure: value}}`` from instant queries aggregated by ``label`` (finite values only)."""
    table: dict[str, dict[str, float]] = {}
    for figure, query in queries.items():
        for sample in metrics.query(query, at=at):
            key = sample.labels.get(label)
            if key is not None and math.isfinite(sample.value):
                table.setdefault(key, {})[figure] = sample.value
    return dict(sorted(table.items()))
