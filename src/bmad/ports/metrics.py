"""Querying a metrics store (Prometheus). MEASURE captures baselines with it; DEPLOY verifies against them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bmad.core.datatypes import datatype


@datatype(frozen=True)
class Sample:
    """One series' value from an instant query, at the time Prometheus evaluated it."""

    labels: dict[str, str]
    value: float
    timestamp: float


@datatype(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix time, value)


class MetricsQuery(Protocol):
    def query(self, expr: str, *, at: datetime | None = None) -> list[Sample]:
        """An instant query. An empty list means "no data" (never a silent zero)."""
        ...

    def query_range(self, expr: str, *, start: datetime, end: datetime, step_seconds: float) -> list[Series]: ...
