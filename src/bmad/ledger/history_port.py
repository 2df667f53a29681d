"""The :class:`bmad.ports.history.History` port over the ledger: the releases before the current one."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from bmad.core.models import PhaseName, PhaseStatus, Release
from bmad.ledger.records import ReleaseHistory, ReleaseOutline
from bmad.ports.history import ReleaseRecord


class ReleaseLister(Protocol):
    """What :class:`LedgerHistory` reads through (the :class:`~bmad.ledger.store.Ledger`)."""

    def list_releases(
        self,
        *,
        service: str | None = None,
        environment: str | None = None,
        limit: int | None = None,
        before: datetime | None = None,
        with_checks: bool = True,
    ) -> list[ReleaseHistory]: ...

    def get_release(
        self, service: str, environment: str, version: str, *, with_checks: bool = True
    ) -> ReleaseHistory | None: ...

    def release_outlines(
        self, *, service: str | None = None, environment: str | None = None, details: Collection[PhaseName] = ()
    ) -> list[ReleaseOutline]: ...


class LedgerHistory:
    """:class:`bmad.ports.history.History` over the ledger, for one release's service/environment."""

    def __init__(self, queries: ReleaseLister, release: Release) -> None:
        self._queries = queries
        self._release = release

    def _earlier(self, limit: int | None) -> list[ReleaseHistory]:
        everything = self._queries.list_releases(service=self._release.service, environment=self._release.environment)
        current = next((h for h in everything if h.release.version == self._release.version), None)
        earlier = [
            h
            for h in everything
            if h.release.version != self._release.version
            and (current is None or (h.created_at, h.id) < (current.created_at, current.id))
        ]
        return earlier[:limit] if limit is not None else earlier

    def previous_releases(self, *, limit: int = 20) -> list[ReleaseRecord]:
        return [h.to_record() for h in self._earlier(limit)]

    def last_deployed(self) -> ReleaseRecord | None:
        """Found among the releases read as outlines (statuses, no artifacts: an earlier ANALYZE of a
        large bundle stores megabytes); only the one found is read whole."""
        outlines = self._queries.release_outlines(service=self._release.service, environment=self._release.environment)
        current = next((o for o in outlines if o.release.version == self._release.version), None)
        for outline in outlines:
            if outline.release.version == self._release.version:
                continue
            if current is not None and (outline.created_at, outline.id) >= (current.created_at, current.id):
                continue
            deploy = outline.phases.get(PhaseName.DEPLOY)
            if deploy is not None and deploy.status is PhaseStatus.PASSED and not outline.rollbacks:
                release = outline.release
                whole = self._queries.get_release(release.service, release.environment, release.version)
                if whole is not None:
                    return whole.to_record()
        return None
