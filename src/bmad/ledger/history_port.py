"""The :class:`bmad.ports.history.History` port over the ledger: the releases before the current one."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol, TypeVar

from bmad.core.models import PhaseName, PhaseStatus, Release
from bmad.ledger.records import LATEST_ATTEMPTS, ChecksOf, ReleaseHistory, ReleaseOutline
from bmad.ports.history import ReleaseRecord


class ReleaseLister(Protocol):
    """What :class:`LedgerHistory` reads through (the :class:`~bmad.ledger.store.Ledger`)."""

    def get_release(
        self, service: str, environment: str, version: str, *, with_checks: ChecksOf = True
    ) -> ReleaseHistory | None: ...

    def release_outlines(
        self, *, service: str | None = None, environment: str | None = None, details: Collection[PhaseName] = ()
    ) -> list[ReleaseOutline]: ...


class _Listed(Protocol):
    """A release as both reads list it (a whole history or an outline)."""

    @property
    def id(self) -> int: ...

    @property
    def release(self) -> Release: ...

    @property
    def created_at(self) -> datetime: ...


_ListedT = TypeVar("_ListedT", bound=_Listed)


class LedgerHistory:
    """:class:`bmad.ports.history.History` over the ledger, for one release's service/environment."""

    def __init__(self, queries: ReleaseLister, release: Release) -> None:
        self._queries = queries
        self._release = release

    def _before_current(self, listed: list[_ListedT]) -> list[_ListedT]:
        """The releases of ``listed`` (newest first) other than the current one and created before it."""
        version = self._release.version
        current = next((r for r in listed if r.release.version == version), None)
        return [
            r
            for r in listed
            if r.release.version != version
            and (current is None or (r.created_at, r.id) < (current.created_at, current.id))
        ]

    def previous_releases(self, *, limit: int = 20) -> list[ReleaseRecord]:
        """Read as outlines: each phase's latest result with its status and times only (every attempt,
        check and artifact of every release was read for ANALYZE's rollback plan, which wants the past
        DEPLOY durations)."""
        outlines = self._queries.release_outlines(service=self._release.service, environment=self._release.environment)
        return [
            ReleaseRecord(o.release, dict(o.phases), o.created_at, rolled_back=bool(o.rollbacks))
            for o in self._before_current(outlines)[:limit]
        ]

    def last_deployed(self) -> ReleaseRecord | None:
        """Found among the releases read as outlines (statuses, no artifacts: an earlier ANALYZE of a
        large bundle stores megabytes); only the one found is read whole."""
        outlines = self._queries.release_outlines(service=self._release.service, environment=self._release.environment)
        for outline in self._before_current(outlines):
            deploy = outline.phases.get(PhaseName.DEPLOY)
            if deploy is not None and deploy.status is PhaseStatus.PASSED and not outline.rollbacks:
                release = outline.release
                whole = self._queries.get_release(
                    release.service, release.environment, release.version, with_checks=LATEST_ATTEMPTS
                )
                if whole is not None:
                    return whole.to_record()
        return None
