"""Read-only questions to the ledger: where a release stands (``bmad status``), the release
history (``bmad history``) and the hash chain's verification (``bmad verify-ledger``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmad.core.datatypes import datatype
from bmad.core.models import PhaseName, PhaseStatus, Release
from bmad.engine.opening import as_config, ledger_for

if TYPE_CHECKING:
    from bmad.config.models import BmadConfig
    from bmad.ledger.anchors import ChainAnchor
    from bmad.ledger.records import LockInfo, PhaseRunRecord, ReleaseHistory, VerifyReport
    from bmad.ledger.store import Ledger
    from bmad.ports.notifications import DeliveryRecord


@datatype
class StatusReport:
    release: Release
    history: ReleaseHistory | None
    latest: ReleaseHistory | None
    lock: LockInfo | None
    interrupted: list[PhaseRunRecord]

    @property
    def next_phase(self) -> PhaseName | None:
        return self.history.next_phase if self.history is not None else PhaseName.BUILD

    def phase_status(self, phase: PhaseName) -> PhaseStatus:
        return self.history.phase_status(phase) if self.history is not None else PhaseStatus.PENDING

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": {
                "service": self.release.service,
                "environment": self.release.environment,
                "version": self.release.version,
                "dirty": self.release.dirty,
                "key": self.release.key,
            },
            "phases": {phase.value: self.phase_status(phase).value for phase in PhaseName.ordered()},
            "next_phase": self.next_phase.value if self.next_phase else None,
            "history": self.history.to_dict() if self.history is not None else None,
            "latest_release": self.latest.release.version if self.latest is not None else None,
            "deployer": self.history.deployer.to_dict() if self.history is not None else None,
            "lock": None
            if self.lock is None
            else {
                "pid": self.lock.pid,
                "host": self.lock.host,
                "acquired_at": self.lock.acquired_at.isoformat(),
                "lease_until": self.lock.lease_until.isoformat(),
            },
            "interrupted_now": [{"phase": r.phase.value, "attempt": r.attempt} for r in self.interrupted],
        }


def release_status(
    config: BmadConfig | str | Path, environment: str, *, ledger: Ledger | None = None, with_checks: bool = True
) -> StatusReport:
    """Where the release at HEAD stands; phases left running by a dead process become ``interrupted``.

    Each phase's latest attempt comes whole and the earlier ones as outlines (status, times, message;
    see :class:`~bmad.ledger.records.LatestAttemptsOf`); ``with_checks=False``: the latest attempts
    bare too (status, times, message), for a table."""
    cfg = as_config(config)
    cfg.environment(environment)
    from bmad.engine.release import release_from_git
    from bmad.ledger.records import LATEST_AND_OUTLINES, STATUSES_ONLY

    release = release_from_git(cfg, environment, check_dirty=False)
    wanted = LATEST_AND_OUTLINES if with_checks else STATUSES_ONLY
    with ledger_for(cfg, ledger) as db:
        interrupted = db.detect_interrupted(release.service, environment)
        return StatusReport(
            release=release,
            history=db.get_release(release.service, environment, release.version, with_checks=wanted),
            latest=db.latest_release(release.service, environment, with_checks=STATUSES_ONLY),
            lock=db.lock_info(release.service, environment),
            interrupted=interrupted,
        )


def release_history(
    config: BmadConfig | str | Path, environment: str | None = None, *, limit: int | None = 20, with_checks: bool = True
) -> list[ReleaseHistory]:
    """The newest releases, every attempt of each phase listed: the latest whole, the earlier ones as
    outlines (``with_checks=False``: all as outlines or bare, with their status and times, for a table)."""
    from bmad.ledger.records import LATEST_AND_OUTLINES, LatestAttemptsOf

    cfg = as_config(config)
    if environment is not None:
        cfg.environment(environment)
    wanted = LATEST_AND_OUTLINES if with_checks else LatestAttemptsOf(frozenset(), bare_others=True, earlier=True)
    with ledger_for(cfg, None) as db:
        return db.list_releases(service=cfg.service.name, environment=environment, limit=limit, with_checks=wanted)


def release_deliveries(
    config: BmadConfig | str | Path, releases: list[ReleaseHistory]
) -> dict[int, list[DeliveryRecord]]:
    """The notification deliveries of each of ``releases`` (by ledger id), from the ledger in one query."""
    with ledger_for(as_config(config), None) as db:
        return db.deliveries_of([history.id for history in releases])


def verify_ledger(config: BmadConfig | str | Path) -> VerifyReport:
    """The hash chain recomputed and compared with the chain hashes committed to the records branch."""
    cfg = as_config(config)
    with ledger_for(cfg, None) as db:
        return db.verify(_anchors(cfg))


def _anchors(config: BmadConfig) -> list[ChainAnchor]:
    from bmad.adapters import git
    from bmad.core.errors import BmadError
    from bmad.engine.records import read_anchors

    if not config.records.enabled:
        return []
    try:
        return read_anchors(git.repo_root(config.repository_dir), config.records)
    except BmadError:  # not a git repository: nothing outside the database to compare with
        return []
