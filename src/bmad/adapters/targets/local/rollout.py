"""Watching a generation of the local target become ready: health answers, crashes, restarts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import field

from bmad.adapters.targets.local.containers import EngineContainers
from bmad.adapters.targets.local.state import Generation, generation_for
from bmad.core.datatypes import datatype
from bmad.ports.progress import Progress
from bmad.ports.target import DeploySpec, HttpProbe, RolloutState


@datatype
class _Tally:
    """One look at every replica of a generation."""

    ready: int = 0
    failed: int = 0
    restarts: int = 0
    running: int = 0
    crashed: list[str] = field(default_factory=list)
    unhealthy: list[str] = field(default_factory=list)


class RolloutWatcher:
    """Polls a generation's replicas (inspect + a GET of the health path) until ready, failed or out of time."""

    def __init__(
        self,
        containers: EngineContainers,
        *,
        probe: HttpProbe,
        health_path: str,
        sleep: Callable[[float], None],
        poll_interval: float,
    ) -> None:
        self.containers = containers
        self.probe = probe
        self.health_path = health_path
        self._sleep = sleep
        self._poll = poll_interval

    def wait_ready(
        self, spec: DeploySpec, replicas: int, *, timeout: float, progress: Progress, cancel: threading.Event | None
    ) -> RolloutState:
        started = time.monotonic()
        task = progress.task(f"waiting for {replicas} healthy replica(s)", total=replicas)
        try:
            while True:
                gen = generation_for(self.containers.read_state(spec.service, spec.environment), spec)
                if gen is None:
                    return RolloutState(
                        False,
                        replicas,
                        0,
                        0,
                        0,
                        message="no replicas of this release",
                        failed=True,
                        reason="NotFound",
                        seconds=time.monotonic() - started,
                    )
                last = self.observe(gen, replicas, started)
                task.update(last.message, completed=last.ready_replicas)
                if last.ready or last.failed:
                    return last
                cancelled = cancel is not None and cancel.is_set()
                if cancelled or time.monotonic() - started >= timeout:
                    return _gave_up(last, replicas, timeout=timeout, cancelled=cancelled, started=started)
                self._sleep(self._poll)
        finally:
            task.done()

    def wait_generation(
        self, service: str, environment: str, number: int, *, timeout: float, started: float
    ) -> RolloutState:
        while True:
            gen = self.containers.read_state(service, environment).find(number)
            if gen is None:
                return RolloutState(False, 0, 0, 0, 0, message="generation vanished", failed=True)
            result = self.observe(gen, len(gen.replicas), started)
            if result.ready or result.failed or time.monotonic() - started >= timeout:
                return result
            self._sleep(min(self._poll, 0.05))

    def observe(self, gen: Generation, desired: int, started: float) -> RolloutState:
        tally = self._tally(gen)
        seconds = time.monotonic() - started
        ready, total = tally.ready, len(gen.replicas)
        if tally.crashed:
            return RolloutState(
                False,
                desired,
                total,
                ready,
                ready,
                message=f"{len(tally.crashed)} replica(s) crashed or crash-looping: {', '.join(tally.crashed)}",
                failed=True,
                reason="CrashLoopBackOff",
                pods_running=ready,
                pods_failed=tally.failed,
                restarts=tally.restarts,
                seconds=seconds,
            )
        if tally.unhealthy:
            return RolloutState(
                False,
                desired,
                total,
                ready,
                ready,
                message=f"engine health check failing: {', '.join(tally.unhealthy)}",
                failed=True,
                reason="Unhealthy",
                pods_running=ready,
                pods_failed=len(tally.unhealthy),
                restarts=tally.restarts,
                seconds=seconds,
            )
        done = ready >= desired
        return RolloutState(
            done,
            desired,
            total,
            ready,
            ready,
            message=f"{ready} of {desired} replicas healthy" + ("" if done else f" ({tally.running} running)"),
            pods_running=ready,
            pods_failed=0,
            restarts=tally.restarts,
            seconds=seconds,
        )

    def _tally(self, gen: Generation) -> _Tally:
        tally = _Tally()
        for listed in gen.replicas:
            replica = self.containers.inspect(listed)
            tally.restarts += replica.restarts
            if replica.crashed:
                tally.failed += 1
                tally.crashed.append(replica.name)
                continue
            if not replica.running or replica.url is None:
                continue
            tally.running += 1
            answer = self.probe.get(replica.url + self.health_path, timeout=1.0)
            if answer.ok:
                tally.ready += 1
            elif replica.health == "unhealthy":
                tally.unhealthy.append(replica.name)
        return tally


def _gave_up(last: RolloutState, replicas: int, *, timeout: float, cancelled: bool, started: float) -> RolloutState:
    """The last observation, marked failed: cancelled, or out of time (kubectl's ProgressDeadlineExceeded)."""
    return RolloutState(
        False,
        replicas,
        last.updated,
        last.ready_replicas,
        last.available,
        message=("cancelled" if cancelled else f"timed out after {timeout:.0f}s") + f": {last.message}",
        failed=True,
        reason="ProgressDeadlineExceeded",
        pods_running=last.pods_running,
        pods_failed=last.pods_failed,
        restarts=last.restarts,
        seconds=time.monotonic() - started,
    )
