"""Real local processes for images a test marks ``process``: the simulated kubelet really runs them.

The process gets ``HELLO_HOST=127.0.0.1`` and ``HELLO_PORT``/``PORT`` (a free port) plus the
container's ``env`` values; its output is the container's log; the readiness probe's ``httpGet`` is
a real GET on that port; an exit is a container termination with the process' exit code
("Pod Lifecycle", container restarts: https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import free_port

PROBE_EVERY_SECONDS = 0.1
ProcessKey = tuple[str, str]  # (pod uid, container name)


@dataclass
class RunningProcess:
    """One container instance as a local process."""

    proc: subprocess.Popen[bytes]
    port: int
    probed_at: float = 0.0
    ready: bool = False


class Processes:
    """The running container processes, by pod uid and container name."""

    def __init__(self) -> None:
        self.running: dict[ProcessKey, RunningProcess] = {}
        self.lock = threading.Lock()
        self.port_pool: list[int] = []  # set through the control API; empty: any free port
        self.turn = 0

    def _port(self) -> int:
        with self.lock:
            busy = {r.port for r in self.running.values() if r.proc.poll() is None}
            free = [p for p in self.port_pool if p not in busy]
            if not free:
                return free_port()
            self.turn += 1
            return free[self.turn % len(free)]

    def start(self, key: ProcessKey, argv: list[str], env: dict[str, str], log: Path) -> RunningProcess:
        port = self._port()
        full_env = {**os.environ, **env, "HELLO_HOST": "127.0.0.1", "HELLO_PORT": str(port), "PORT": str(port)}
        with log.open("ab") as out:
            proc = subprocess.Popen(argv, env=full_env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        running = RunningProcess(proc, port)
        with self.lock:
            self.running[key] = running
        return running

    def get(self, key: ProcessKey) -> RunningProcess | None:
        with self.lock:
            return self.running.get(key)

    def exit_code(self, key: ProcessKey) -> int | None:
        running = self.get(key)
        return None if running is None else running.proc.poll()

    def probe(self, key: ProcessKey, path: str) -> bool:
        """The readiness probe's HTTP GET (cached for a short while)."""
        running = self.get(key)
        if running is None:
            return False
        if time.monotonic() - running.probed_at >= PROBE_EVERY_SECONDS:
            running.probed_at = time.monotonic()
            running.ready = _http_ok(f"http://127.0.0.1:{running.port}{path}")
        return running.ready

    def ports_of(self, uid: str) -> list[int]:
        with self.lock:
            return [r.port for (pod, _), r in self.running.items() if pod == uid and r.proc.poll() is None]

    def cpu_seconds(self, uid: str) -> float | None:
        """CPU time (user + system) the pod's processes used so far; None when it runs none."""
        with self.lock:
            pids = [r.proc.pid for (pod, _), r in self.running.items() if pod == uid and r.proc.poll() is None]
        if not pids:
            return None
        ticks = 0
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(stat[11]) + int(stat[12])  # utime, stime (fields 14 and 15 of proc(5))
        return ticks / os.sysconf("SC_CLK_TCK")

    def forget(self, key: ProcessKey) -> None:
        with self.lock:
            running = self.running.pop(key, None)
        if running is not None:
            _stop(running.proc)

    def stop_pod(self, uid: str) -> None:
        for key in [k for k in list(self.running) if k[0] == uid]:
            self.forget(key)

    def stop_except(self, live_uids: set[str]) -> None:
        for key in [k for k in list(self.running) if k[0] not in live_uids]:
            self.forget(key)

    def stop_all(self) -> None:
        """Every process at once: SIGTERM to all, then wait for each (the stand-in's own stop has to
        finish before its harness gives up on it, or the processes outlive it)."""
        with self.lock:
            running, self.running = list(self.running.values()), {}
        for item in running:
            if item.proc.poll() is None:
                item.proc.terminate()
        for item in running:
            _stop(item.proc)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return 200 <= int(response.status) < 400
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
