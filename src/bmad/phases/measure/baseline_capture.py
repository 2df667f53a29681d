"""Baseline figures: one PromQL query each, captured as the value now plus a summary over a window.

"No data" is explicit: an empty answer, or only NaN/Inf values (a ratio over no traffic), is
``no_data: true`` with ``value: null`` and follows the query's policy (fail / warn / skip) —
never a silent zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bmad.config.measure import BaselineQuery, NoDataPolicy, render_query
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.core.models import CheckStatus
from bmad.ports.artifacts import BaselineFigure
from bmad.ports.metrics import MetricsQuery, Sample, Series


@datatype(frozen=True)
class Baseline:
    """One captured baseline query: the figure MEASURE stores, and notes on how it was read."""

    name: str
    figure: BaselineFigure
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> CheckStatus:
        if self.figure.error:
            return CheckStatus.FAIL
        if self.figure.no_data:
            return _NO_DATA_STATUS[self.figure.no_data_policy]
        if self.notes:
            return CheckStatus.WARN
        return CheckStatus.PASS


_NO_DATA_STATUS = {"fail": CheckStatus.FAIL, "warn": CheckStatus.WARN, "skip": CheckStatus.SKIP}


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
    empty = BaselineFigure(query=query, unit=spec.unit, no_data_policy=policy, window_seconds=window_seconds)
    try:
        samples = metrics.query(query, at=at)
        series = metrics.query_range(
            query, start=at - timedelta(seconds=window_seconds), end=at, step_seconds=step_seconds
        )
    except AdapterError as exc:
        if exc.status is None:  # unreachable: the whole check cannot find out
            raise
        message = exc.detail or exc.message
        return Baseline(spec.name, replace(empty, error=message or None, no_data=not message))
    value, answered = current_value(samples)
    notes: tuple[str, ...] = ()
    if answered > 1:
        notes = (f"the query returned {answered} series; their sum was taken (aggregate the query, e.g. sum(...))",)
    points = window_points(series)
    figure = replace(empty, value=value, no_data=value is None, points=len(points))
    if points:
        figure = replace(
            figure,
            minimum=min(points),
            maximum=max(points),
            average=math.fsum(points) / len(points),
            p95=percentile(points, 95),
        )
    return Baseline(spec.name, figure, notes)


@datatype(frozen=True)
class Breakdown:
    """Instant queries aggregated by one label: a ``{label value: {figure: value}}`` table."""

    label: str
    queries: dict[str, str]  # figure -> PromQL ({namespace}, {rate_window} filled in)


# The guide's `kubectl top pods` / `kubectl top nodes` baselines, from cAdvisor and node-exporter metrics.
POD_BREAKDOWN = Breakdown(
    "pod",
    {
        "cpu_cores": 'sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="{namespace}",container!=""}'
        "[{rate_window}]))",
        "memory_bytes": 'sum by (pod) (container_memory_working_set_bytes{namespace="{namespace}",container!=""})',
    },
)
NODE_BREAKDOWN = Breakdown(
    "instance",
    {
        "cpu_ratio": '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[{rate_window}]))',
        "memory_ratio": "1 - sum by (instance) (node_memory_MemAvailable_bytes) "
        "/ sum by (instance) (node_memory_MemTotal_bytes)",
    },
)


def capture_breakdown(
    metrics: MetricsQuery, breakdown: Breakdown, *, values: dict[str, str], at: datetime
) -> dict[str, dict[str, float]]:
    """``{label value: {figure: value}}`` from the breakdown's queries (finite values only)."""
    table: dict[str, dict[str, float]] = {}
    for figure, query in breakdown.queries.items():
        for sample in metrics.query(render_query(query, values), at=at):
            key = sample.labels.get(breakdown.label)
            if key is not None and math.isfinite(sample.value):
                table.setdefault(key, {})[figure] = sample.value
    return dict(sorted(table.items()))
