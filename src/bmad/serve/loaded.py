"""The releases of the snapshot, brought up to date by reading only what changed since the last load.

A load after the first reads the releases recorded or touched since the newest ids it has seen (new
releases, phase runs, rollbacks), those with a run still running, and those that were running at the
last load (their run has ended since). Rows are only ever added, so the numbers of releases, runs and
rollbacks it holds must lie between the counts of the change stamp read before that query and one
read after it; when they do not (ids committed out of order on PostgreSQL, a row deleted by hand) it
reads everything again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bmad.core.datatypes import datatype
from bmad.core.models import PhaseStatus
from bmad.ledger.reader import ChangeMarks, stamp_counts
from bmad.ledger.records import LATEST_AND_OUTLINES
from bmad.reports.source import release_view
from bmad.reports.views import ReleaseView
from bmad.serve.integrity import newest_chained

if TYPE_CHECKING:
    from bmad.engine.runner import Ledger
    from bmad.ledger.records import PhaseRunRecord, ReleaseHistory

# What the dashboard shows of a release: each phase's latest attempt (its view); the earlier attempts
# are counted and their chain links kept, not read (an ANALYZE of a thousand objects is megabytes each).
SHOWN = LATEST_AND_OUTLINES


@datatype(frozen=True)
class _Loaded:
    """One release as loaded: its view, where it sorts, and what it counted."""

    view: ReleaseView
    order: tuple[datetime, int]
    runs: int
    rollbacks: int
    running: bool


class LoadedReleases:
    """Every release of the ledger as of the last :meth:`update` (used by one thread)."""

    def __init__(self) -> None:
        self._loaded: dict[int, _Loaded] = {}
        self._marks = ChangeMarks()
        self._views: tuple[ReleaseView, ...] = ()
        self.newest_chained: tuple[ReleaseHistory, PhaseRunRecord] | None = None
        self.full_loads = 0  # how many times everything was read

    def update(self, ledger: Ledger, stamp: str) -> tuple[ReleaseView, ...]:
        """The releases (oldest first) after reading what changed since the last update."""
        try:
            return self._update(ledger, stamp)
        except BaseException:
            self._loaded = {}  # half merged: the next update reads everything
            raise

    def _update(self, ledger: Ledger, stamp: str) -> tuple[ReleaseView, ...]:
        if self._loaded:
            running = [release_id for release_id, loaded in self._loaded.items() if loaded.running]
            self._merge(ledger.releases_changed_since(self._marks, running, with_checks=SHOWN))
            held = self._counts()
            before, after = stamp_counts(stamp), stamp_counts(ledger.change_stamp())
            if all(low <= count <= high for low, count, high in zip(before, held, after, strict=True)):
                return self._sorted()
        self._loaded, self._marks, self.newest_chained = {}, ChangeMarks(), None
        self.full_loads += 1
        self._merge(ledger.list_releases(with_checks=SHOWN))
        return self._sorted()

    def _merge(self, histories: list[ReleaseHistory]) -> None:
        marks = self._marks
        for history in histories:
            self._loaded[history.id] = _Loaded(
                view=release_view(history),
                order=(history.created_at, history.id),
                runs=len(history.runs),
                rollbacks=len(history.rollbacks),
                running=any(run.status is PhaseStatus.RUNNING for run in history.runs),
            )
            marks = ChangeMarks(
                release_id=max(marks.release_id, history.id),
                run_id=max([marks.run_id, *(run.id for run in history.runs)]),
                rollback_id=max([marks.rollback_id, *(rollback.id for rollback in history.rollbacks)]),
            )
            self._keep_if_newest_chained(history)
        self._marks = marks
        self._views = ()

    def _keep_if_newest_chained(self, history: ReleaseHistory) -> None:
        found = newest_chained([history])
        if found is None:
            return
        if self.newest_chained is None or (found[1].chain_seq or 0) >= (self.newest_chained[1].chain_seq or 0):
            self.newest_chained = found

    def _counts(self) -> tuple[int, int, int]:
        loaded = self._loaded.values()
        return len(self._loaded), sum(one.runs for one in loaded), sum(one.rollbacks for one in loaded)

    def _sorted(self) -> tuple[ReleaseView, ...]:
        if not self._views:
            self._views = tuple(one.view for one in sorted(self._loaded.values(), key=lambda one: one.order))
        return self._views
