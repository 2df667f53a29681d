"""Background HTTP work during a deploy: the downtime prober and verification traffic."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from bmad.core.datatypes import datatype
from bmad.ports.target import HttpProbe


@datatype(frozen=True)
class DowntimeReport:
    """What the downtime prober saw during a deploy: failed rounds and the longest gap."""

    probes: int
    failed: int  # rounds in which no endpoint answered while the service had been up
    longest_gap_seconds: float
    urls: tuple[str, ...]

    @property
    def zero_downtime(self) -> bool:
        return self.failed == 0


class DowntimeProber:
    """Probes the health path of every known endpoint each ``interval``.

    A round succeeds when any endpoint answers 200 (a client with fail-over, like a load
    balancer in front of the replicas). Failed rounds count only once the service has been up
    (a first deploy is not downtime before its first replica answers).
    """

    def __init__(self, probe: HttpProbe, health_path: str, *, interval: float = 0.2) -> None:
        self._probe = probe
        self._path = health_path
        self._interval = interval
        self._urls: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._probes = 0
        self._failed = 0
        self._seen_up = False
        self._gap_started: float | None = None
        self._longest_gap = 0.0

    def add(self, urls: Iterable[str]) -> None:
        with self._lock:
            for url in urls:
                if url not in self._urls:
                    self._urls.append(url)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="bmad-downtime-prober", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.probe_once()
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))

    def probe_once(self) -> bool:
        with self._lock:
            urls = list(self._urls)
        if not urls:
            return False
        up = any(self._probe.get(url + self._path, timeout=1.0).ok for url in urls)
        now = time.monotonic()
        with self._lock:
            self._probes += 1
            if up:
                self._seen_up = True
                if self._gap_started is not None:
                    self._longest_gap = max(self._longest_gap, now - self._gap_started)
                    self._gap_started = None
            elif self._seen_up:
                self._failed += 1
                if self._gap_started is None:
                    self._gap_started = now
        return up

    def stop(self) -> DowntimeReport:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        with self._lock:
            gap = self._longest_gap
            if self._gap_started is not None:
                gap = max(gap, time.monotonic() - self._gap_started)
            return DowntimeReport(self._probes, self._failed, gap, tuple(self._urls))


class TrafficGenerator:
    """Sends ``rps`` GETs per second, round-robin over ``urls``, until stopped."""

    def __init__(self, probe: HttpProbe, urls: list[str], path: str, *, rps: float) -> None:
        self._probe = probe
        self._urls = urls
        self._path = path
        self._interval = 1.0 / rps
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bmad-verification-traffic", daemon=True)
        self.sent = 0
        self.errors = 0

    def __enter__(self) -> TrafficGenerator:
        if self._urls:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        index = 0
        while not self._stop.is_set():
            url = self._urls[index % len(self._urls)] + self._path
            index += 1
            answer = self._probe.get(url, timeout=2.0)
            self.sent += 1
            if answer.status >= 500 or answer.status == 0:
                self.errors += 1
            self._stop.wait(self._interval)
