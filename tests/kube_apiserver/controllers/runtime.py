"""Simulated time and the simulated node runtime's state: image behaviours, metrics, container logs.

``Clock`` runs ``1 / time_scale`` simulated seconds per real second, so probe delays,
``minReadySeconds``, back-offs and deadlines keep their meaning while tests stay fast.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .processes import Processes

BEHAVIOURS = ("ok", "pull-failure", "crash", "oom", "unschedulable", "process", "complete")


@dataclass(frozen=True)
class Clock:
    """Simulated seconds since start (``scale`` real seconds per simulated second)."""

    scale: float = 1.0
    started: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        return (time.monotonic() - self.started) / max(self.scale, 1e-6)


@dataclass
class ContainerRun:
    """One container instance's log: lines, or the file a real process writes."""

    lines: list[str] = field(default_factory=list)
    path: Path | None = None

    def text(self) -> str:
        if self.path is not None:
            return self.path.read_text(errors="replace") if self.path.exists() else ""
        return "".join(line + "\n" for line in self.lines)


@dataclass
class Runtime:
    """What tests set (image behaviours, HPA metrics) and what containers logged."""

    clock: Clock
    image_behaviour: dict[str, str] = field(default_factory=dict)
    metrics: dict[tuple[str, str], float] = field(default_factory=dict)
    runs: dict[tuple[str, str, str], list[ContainerRun]] = field(default_factory=dict)
    ready_since: dict[str, float] = field(default_factory=dict)
    image_argv: dict[str, list[str]] = field(default_factory=dict)
    processes: Processes = field(default_factory=Processes)
    log_dir: Path = Path("/tmp")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def behaviour(self, image: str) -> str:
        return self.image_behaviour.get(image, "ok")

    def start_container(self, namespace: str, pod: str, container: str, image: str) -> None:
        with self.lock:
            runs = self.runs.setdefault((namespace, pod, container), [])
            attempt = len(runs)
            runs.append(ContainerRun([f"container {container} started from image {image} (attempt {attempt})"]))

    def process_log(self, namespace: str, pod: str, container: str) -> Path:
        """A new log file for a container instance run as a real process."""
        with self.lock:
            runs = self.runs.setdefault((namespace, pod, container), [])
            path = self.log_dir / f"{namespace}_{pod}_{container}_{len(runs)}.log"
            runs.append(ContainerRun(path=path))
            return path

    def log(self, namespace: str, pod: str, container: str, line: str) -> None:
        with self.lock:
            runs = self.runs.get((namespace, pod, container))
            if runs:
                runs[-1].lines.append(line)

    def log_text(self, namespace: str, pod: str, container: str, previous: bool) -> str | None:
        """The current (or previous) instance's log; None when there is no such instance."""
        with self.lock:
            runs = self.runs.get((namespace, pod, container)) or []
            index = -2 if previous else -1
            if len(runs) < (2 if previous else 1):
                return None
            return runs[index].text()

    def forget(self, namespace: str, pod: str) -> None:
        with self.lock:
            for key in [k for k in self.runs if k[:2] == (namespace, pod)]:
                del self.runs[key]

    def available(self, pod: dict[str, object], min_ready_seconds: float) -> bool:
        """Ready for at least ``min_ready_seconds`` of simulated time (the Deployment "available" rule)."""
        meta = pod.get("metadata")
        uid = meta.get("uid") if isinstance(meta, dict) else None
        since = self.ready_since.get(str(uid))
        return since is not None and self.clock.now() - since >= min_ready_seconds
