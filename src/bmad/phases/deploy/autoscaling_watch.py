"""Load against the new release while its HPAs are watched: the samples ``deploy.autoscaling`` judges.

:class:`LoadDriver` runs the load generator in short slices on a thread, so requests per second
are known over time; :func:`watch_autoscalers` polls the HPAs' status meanwhile and stops when
each reached its goal, when none scaled up within the first-scale-up limit, or at the maximum wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import field

from bmad.config.deploy import AutoscalingConfig
from bmad.core.datatypes import datatype
from bmad.core.spans import SpanKind, waiting
from bmad.ports.loadtest import HttpRequest, LevelPlan, LoadGenerator
from bmad.ports.target import AutoscalerStatus

SLICE_SECONDS = 2.0  # one load-generator level: requests per second are recorded at this resolution


@datatype(frozen=True)
class ReplicaSample:
    """One HPA's status at ``at`` seconds after the load started."""

    at: float
    hpa: str
    replicas: int
    desired: int
    metric_value: float | None


@datatype(frozen=True)
class LoadSample:
    """Requests per second answered during the slice that ended ``at`` seconds after the load started."""

    at: float
    rps: float
    errors: int


@datatype
class LoadDriver:
    """Sends ``connections`` concurrent GETs to ``url`` slice after slice until stopped or ``duration`` passed."""

    generator: LoadGenerator
    url: str
    connections: int
    duration: float
    started: float = field(default_factory=time.monotonic)
    samples: list[LoadSample] = field(default_factory=list)
    error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="bmad-autoscaling-load", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        request = HttpRequest("GET", self.url)
        try:
            while not self._stop.is_set() and time.monotonic() - self.started < self.duration:
                left = self.duration - (time.monotonic() - self.started)
                seconds = max(min(SLICE_SECONDS, left), 0.2)
                plan = LevelPlan(self.connections, seconds, None, hard_limit_seconds=seconds + 30)
                level = self.generator.run_level(request, plan)
                at = round(time.monotonic() - self.started, 3)
                self.samples.append(LoadSample(at, round(level.rps, 1), level.failed))
        except Exception as exc:  # any failure of the generator ends the load; the check reports it
            self.error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=SLICE_SECONDS + 35)
        self.generator.close()


@datatype(frozen=True)
class WatchLimits:
    """How long the HPA watch waits for a first scale-up and in all, and how often it polls."""

    first_scale_up_within: float
    max_wait: float
    interval: float

    @classmethod
    def of(cls, config: AutoscalingConfig) -> WatchLimits:
        return cls(config.first_scale_up_within_seconds, config.max_wait_seconds, config.poll_interval_seconds)


def watch_autoscalers(
    read: Callable[[], list[AutoscalerStatus]],
    goals: dict[str, int],
    limits: WatchLimits,
    *,
    started: float,
    cancel: threading.Event,
) -> list[ReplicaSample]:
    """Poll ``read`` until every HPA's replicas reached its goal, or no HPA scaled up in time, or the wait ends."""
    samples: list[ReplicaSample] = []
    first: dict[str, int] = {}
    while True:
        at = round(time.monotonic() - started, 3)
        for hpa in read():
            samples.append(ReplicaSample(at, hpa.name, hpa.current_replicas, hpa.desired_replicas, hpa.current_value))
            first.setdefault(hpa.name, hpa.current_replicas)
        if _all_reached(samples, goals) or at >= limits.max_wait:
            return samples
        if at >= limits.first_scale_up_within and not any(s.desired > first.get(s.hpa, s.desired) for s in samples):
            return samples
        if _paused(limits, cancel, "autoscaling: waiting for the HPAs to scale"):
            return samples


def _all_reached(samples: list[ReplicaSample], goals: dict[str, int]) -> bool:
    best: dict[str, int] = {}
    for sample in samples:
        best[sample.hpa] = max(best.get(sample.hpa, 0), sample.replicas)
    return bool(goals) and all(best.get(name, 0) >= goal for name, goal in goals.items())


def settle_floors(
    read: Callable[[], list[AutoscalerStatus]], limits: WatchLimits, *, cancel: threading.Event
) -> list[AutoscalerStatus]:
    """The HPAs once each runs at least its ``minReplicas``, or as they are after
    ``limits.first_scale_up_within``. Right after a rollout a workload may still run fewer (a
    Deployment without ``replicas`` starts at 1), and the HPA controller raises it to the floor at its
    next sync (every 15 s by default, kube-controller-manager's ``--horizontal-pod-autoscaler-sync-period``):
    load sent before that would count the floor as the response to the load."""
    deadline = time.monotonic() + limits.first_scale_up_within
    while True:
        hpas = read()
        if all(h.current_replicas >= h.min_replicas for h in hpas) or time.monotonic() >= deadline:
            return hpas
        if _paused(limits, cancel, "autoscaling: waiting for the HPAs' minimum replicas"):
            return hpas


def _paused(limits: WatchLimits, cancel: threading.Event, label: str) -> bool:
    """The pause between two reads of the HPAs, a wait on the cluster's HPA controller (a span of
    kind ``kubernetes``); True when the phase was cancelled meanwhile."""
    with waiting(SpanKind.KUBERNETES, label):
        return cancel.wait(limits.interval)
