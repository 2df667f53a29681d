"""Spans: the time a phase spends waiting on something outside bmad.

The engine makes a :class:`SpanRecorder` active while a phase's plugin runs; the two seams through
which bmad reaches other systems (:func:`bmad.core.process.run` for programs and the HTTP session of
``bmad.adapters._http``, which the Docker SDK's session shares) record one :class:`Span` per call
through :func:`waiting`. Nothing is recorded when no recorder is active. Bmad's own share of a run
is its wall time minus the union of its spans (:func:`covered_seconds`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from bmad.core.datatypes import datatype

Item = TypeVar("Item")


class SpanKind(StrEnum):
    """What bmad waited on."""

    CONTAINER_ENGINE = "container-engine"
    REGISTRY = "registry"
    MONITORING = "monitoring"  # Prometheus, Pushgateway, Alertmanager, Grafana
    KUBERNETES = "kubernetes"
    SERVICE = "service"  # the service itself, its tests, its load test
    GIT = "git"
    PROGRAM = "program"  # any other program (scanners, kubectl, compose ...)


@datatype(frozen=True)
class Span:
    """One external wait: its kind, a short label, and when it started and ended (UTC)."""

    kind: SpanKind
    label: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind.value,
            "label": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        return cls(
            kind=SpanKind(data["kind"]),
            label=str(data["label"]),
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
        )


class SpanRecorder:
    """The spans of one phase run, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[Span] = []

    def add(self, span: Span) -> None:
        with self._lock:
            self._spans.append(span)

    def spans(self) -> tuple[Span, ...]:
        """Every span so far, in the order they started."""
        with self._lock:
            return tuple(sorted(self._spans, key=lambda s: (s.start, s.end)))


_active: SpanRecorder | None = None  # one phase runs at a time in a process; its checks may use threads
_active_lock = threading.Lock()


@contextmanager
def recording(recorder: SpanRecorder) -> Iterator[SpanRecorder]:
    """Make ``recorder`` the one :func:`waiting` records into, for the duration of the block."""
    global _active
    with _active_lock:
        previous, _active = _active, recorder
    try:
        yield recorder
    finally:
        with _active_lock:
            _active = previous


@contextmanager
def waiting(kind: SpanKind, label: str) -> Iterator[None]:
    """Record the block as one span of ``kind`` into the active recorder (if any)."""
    recorder = _active
    if recorder is None:
        yield
        return
    start_wall = datetime.now(UTC)
    started = time.perf_counter()
    try:
        yield
    finally:
        end = start_wall + timedelta(seconds=time.perf_counter() - started)
        recorder.add(Span(kind, label[:120], start_wall, end))


def sleeper(kind: SpanKind, label: str) -> Callable[[float], None]:
    """A ``time.sleep`` for polling loops whose every pause is a wait on ``kind`` (recorded as a span)."""

    def sleep(seconds: float) -> None:
        with waiting(kind, label):
            time.sleep(seconds)

    return sleep


def streamed(items: Iterable[Item], kind: SpanKind, label: str) -> Iterator[Item]:
    """``items`` (a streamed answer, read as it comes) with the reading recorded as one span."""
    with waiting(kind, label):
        yield from items


def merged(spans: Iterable[Span]) -> list[tuple[datetime, datetime]]:
    """The time the spans cover, as disjoint (start, end) intervals in order (overlaps joined)."""
    intervals: list[tuple[datetime, datetime]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if intervals and span.start <= intervals[-1][1]:
            intervals[-1] = (intervals[-1][0], max(intervals[-1][1], span.end))
        else:
            intervals.append((span.start, span.end))
    return intervals


def covered_seconds(spans: Iterable[Span]) -> float:
    """Seconds covered by at least one span (overlapping spans counted once)."""
    return sum((end - start).total_seconds() for start, end in merged(spans))


_PROGRAM_KINDS = {
    "git": SpanKind.GIT,
    "podman": SpanKind.CONTAINER_ENGINE,
    "docker": SpanKind.CONTAINER_ENGINE,
    "buildah": SpanKind.CONTAINER_ENGINE,
    "skopeo": SpanKind.REGISTRY,
    "locust": SpanKind.SERVICE,
    "k6": SpanKind.SERVICE,
}

_SYSTEM_KINDS = {
    "container engine": SpanKind.CONTAINER_ENGINE,
    "registry": SpanKind.REGISTRY,
    "prometheus": SpanKind.MONITORING,
    "pushgateway": SpanKind.MONITORING,
    "alertmanager": SpanKind.MONITORING,
    "grafana": SpanKind.MONITORING,
    "kubernetes": SpanKind.KUBERNETES,
    "service": SpanKind.SERVICE,
    "tests": SpanKind.SERVICE,
}


def kind_of(system: str) -> SpanKind:
    """The kind of wait for a program's name or an adapter's system name."""
    name = system.lower()
    return _PROGRAM_KINDS.get(name) or _SYSTEM_KINDS.get(name) or _by_word(name)


def _by_word(name: str) -> SpanKind:
    for word, kind in (*_SYSTEM_KINDS.items(), ("kube", SpanKind.KUBERNETES), ("test", SpanKind.SERVICE)):
        if word in name:
            return kind
    return SpanKind.PROGRAM
