"""A daemon thread that renews a target lock while a deploy runs (Kubernetes Lease, local lock file).

``beat()`` is called every ``interval`` seconds until the block ends; it returns False once the
lock is lost (someone else took it), which stops the heartbeat. An unreachable system (``AdapterError``,
``OSError``) is treated as a missed beat: the next one tries again, and the lock's lease covers the gap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from bmad.core.errors import AdapterError

log = logging.getLogger(__name__)


class Heartbeat:
    """``with Heartbeat(beat, interval):`` renews while the block runs; ``beats`` counts renewals."""

    def __init__(self, beat: Callable[[], bool], interval: float, *, name: str = "bmad-lock-heartbeat") -> None:
        self._beat = beat
        self._interval = max(interval, 0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.beats = 0

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5.0)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                kept = self._beat()
            except (AdapterError, OSError) as exc:  # a missed beat: the lease covers the gap
                log.warning("renewing the target lock failed: %s", exc)
                continue
            if not kept:
                log.warning("the target lock was taken over by another run")
                return
            self.beats += 1
