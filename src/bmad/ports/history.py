"""A read-only view of the ledger for phases: earlier releases of the same service/environment."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import Protocol

from bmad.core.datatypes import datatype
from bmad.core.models import PhaseName, PhaseResult, Release


@datatype
class ReleaseRecord:
    """A release with the latest result of each phase that ran for it."""

    release: Release
    phases: dict[PhaseName, PhaseResult] = field(default_factory=dict)
    created_at: datetime | None = None
    rolled_back: bool = False

    def passed(self, phase: PhaseName) -> bool:
        from bmad.core.models import PhaseStatus

        result = self.phases.get(phase)
        return result is not None and result.status is PhaseStatus.PASSED


class History(Protocol):
    def previous_releases(self, *, limit: int = 20) -> list[ReleaseRecord]:
        """Releases of this service/environment before the current one, newest first: each phase's
        latest result with its status and times (no checks, metrics or artifacts)."""
        ...

    def last_deployed(self) -> ReleaseRecord | None:
        """The newest earlier release whose DEPLOY passed and was not rolled back, each phase's latest
        result whole."""
        ...
