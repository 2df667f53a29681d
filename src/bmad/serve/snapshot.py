"""Every release of the ledger, kept current by one background thread.

Pages that need every release (the board, the metrics, the board's event stream) read the latest
load instead of the database: a request costs the rendering only, and the ledger sees one reader
however many people watch. Each pass reads the ledger's change stamp and reloads the releases only
when it changed, so a large quiet ledger costs one small query a pass; :attr:`generation` counts
the reloads (pages rendered at one generation can be reused until the next). A reload reads only the
releases that changed (:mod:`bmad.serve.loaded`). The snapshot is at
most one pass behind the ledger. With nobody asking for a minute the passes pause; the next
request then waits for a fresh pass.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from bmad.reports.views import ReleaseView
from bmad.serve.loaded import LoadedReleases

if TYPE_CHECKING:
    from bmad.engine.runner import Ledger
    from bmad.ledger.records import PhaseRunRecord, ReleaseHistory

LOAD_WAIT_SECONDS = 120.0  # a request waits this long for a load before failing
IDLE_SECONDS = 60.0  # loading pauses when no page asked for the releases for this long


class ReleaseSnapshot:
    """The ledger's releases (oldest first) as of the newest load; :meth:`start` begins loading."""

    def __init__(
        self, ledger: Ledger, *, interval: float, closing: threading.Event, idle_seconds: float = IDLE_SECONDS
    ) -> None:
        self._ledger = ledger
        self._interval = interval
        self._idle_seconds = idle_seconds
        self._closing = closing
        self._views: tuple[ReleaseView, ...] | None = None
        self._loaded = LoadedReleases()
        self._newest_chained: tuple[ReleaseHistory, PhaseRunRecord] | None = None
        self._by_id: dict[str, ReleaseView] = {}
        self._error: Exception | None = None
        self._loads = 0
        self._stamp: str | None = None  # the ledger's change stamp when the views were loaded
        self._generation = 0
        self._loaded_at: float | None = None  # when the newest load started (time.monotonic)
        self._wanted_at = time.monotonic()
        self._changed = threading.Condition()

    def start(self) -> None:
        threading.Thread(target=self._run, name="bmad-serve-snapshot", daemon=True).start()

    def views(self) -> tuple[ReleaseView, ...]:
        """The newest load (a fresh one after a pause); raises the error of the last load when it failed."""
        with self._changed:
            asked = time.monotonic()
            self._wanted_at = asked
            if self._loaded_at is None:  # the first load is under way
                self._changed.wait_for(lambda: self._loads > 0 or self._closing.is_set(), timeout=LOAD_WAIT_SECONDS)
            elif asked - self._loaded_at > self._idle_seconds:  # paused: wake the loader, wait for a fresh load
                self._changed.notify_all()
                self._changed.wait_for(lambda: self._fresher_than(asked), timeout=LOAD_WAIT_SECONDS)
            if self._error is not None:
                raise self._error
            if self._views is None:
                raise TimeoutError("the ledger's releases are not loaded yet")
            return self._views

    def _fresher_than(self, asked: float) -> bool:
        return self._closing.is_set() or (self._loaded_at is not None and self._loaded_at >= asked)

    def find(self, release_id: str) -> ReleaseView | None:
        self.views()  # waits for the first load, raises its error
        return self._by_id.get(release_id)

    def newest_chained(self) -> tuple[ReleaseHistory, PhaseRunRecord] | None:
        """The chained phase run with the highest position in the newest load, with its release."""
        self.views()
        return self._newest_chained

    @property
    def full_loads(self) -> int:
        """How many loads read every release (the others read only what changed)."""
        return self._loaded.full_loads

    @property
    def loads(self) -> int:
        """How many passes have ended."""
        return self._loads

    @property
    def generation(self) -> int:
        """How many times the releases were (re)loaded: the same number, the same views."""
        return self._generation

    def wait_fresh(self, timeout: float = 30.0) -> None:
        """Wait until a load that started after this call has ended (tests: read what was just written)."""
        with self._changed:
            wanted = self._loads + 2
            if not self._changed.wait_for(lambda: self._loads >= wanted, timeout=timeout):
                raise TimeoutError("the ledger's releases were not reloaded in time")

    def _run(self) -> None:
        while not self._closing.is_set():
            started = time.monotonic()
            stamp, views, error = self._load()
            with self._changed:
                if views is not None:
                    self._views, self._stamp = views, stamp
                    self._by_id = {view.release_id: view for view in views}
                    self._newest_chained = self._loaded.newest_chained
                    self._generation += 1
                self._error = error
                self._loaded_at = started
                self._loads += 1
                self._changed.notify_all()
                self._changed.wait(self._interval)
                while time.monotonic() - self._wanted_at > self._idle_seconds and not self._closing.is_set():
                    self._changed.wait(1.0)  # paused: views() wakes it up

    def _load(self) -> tuple[str | None, tuple[ReleaseView, ...] | None, Exception | None]:
        """The change stamp and the releases when they changed since the last load (else None)."""
        try:
            stamp = self._ledger.change_stamp()
            if stamp == self._stamp and self._error is None:
                return stamp, None, None
            return stamp, self._loaded.update(self._ledger, stamp), None
        except Exception as exc:  # kept for the pages to report; the next pass tries again
            return None, None, exc
