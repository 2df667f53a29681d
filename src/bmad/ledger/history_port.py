"""The :class:`bmad.ports.history.History` port over the ledger: the releases before the current one."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bmad.core.models import PhaseName, PhaseStatus, Release
from bmad.ledger.records import ReleaseHistory
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


class LedgerHistory:
    """:class:`bmad.ports.history.History` over the ledger, for one release's service/environment."""

    def __init__(self, queries: ReleaseLister, release: Release) -> None:
        self._queries = queries
        self._release = release

    def _earlier(self, limit: int | None, *, with_checks: bool = True) -> list[ReleaseHistory]:
        everything = self._queries.list_releases(
            service=self._release.service, environment=self._release.environment, with_checks=with_checks
        )
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
        """Found among the releases read without their checks; only the one found is read whole."""
        for history in self._earlier(None, with_checks=False):
            if history.phase_status(PhaseName.DEPLOY) is PhaseStatus.PASSED and not history.rolled_back:
                release = history.release
                whole = self._queries.get_release(release.service, release.environment, release.version)
                return (whole or history).to_record()
        return None
