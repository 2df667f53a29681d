"""The deployment ledger: releases, phase runs, check results, rollbacks, locks — and a hash chain.

:class:`Ledger` is the one API the engine, the CLI and the reports use; it hands each call to
the part that owns it: :mod:`~bmad.ledger.runs` (writes), :mod:`~bmad.ledger.chain` (hash chain,
verify), :mod:`~bmad.ledger.locks` and :mod:`~bmad.ledger.history` (reads).

Every public write is one database transaction. Timestamps are injectable (``clock`` for
the defaults, explicit arguments everywhere a test needs known data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from bmad.core.models import PhaseName, PhaseResult, Release, utcnow
from bmad.ledger import chain
from bmad.ledger._db import make_engine, migrate, resolve_url
from bmad.ledger.anchors import ChainAnchor, sign
from bmad.ledger.history import HistoryQueries, LedgerHistory
from bmad.ledger.locks import LedgerLock, Locks
from bmad.ledger.records import (
    LockInfo,
    PhaseRunRecord,
    ReleaseHistory,
    RollbackInput,
    RollbackRecord,
    VerifyReport,
)
from bmad.ledger.runs import RunWriter
from bmad.ledger.transactions import Clock, Database


class Ledger:
    """The ledger API used by the engine, the CLI and the reports.

    Open with :meth:`open` (runs migrations) and close with :meth:`close` (or use ``with``).
    """

    def __init__(self, engine: Engine, *, clock: Clock = utcnow, signing_key: str | None = None) -> None:
        self._db = Database(engine, clock)
        self._signing_key = signing_key
        self._runs = RunWriter(self._db, signing_key=signing_key)
        self._locks = Locks(self._db)
        self._history = HistoryQueries(self._db)

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        state_dir: str | Path | None = None,
        clock: Clock = utcnow,
        signing_key: str | None = None,
    ) -> Ledger:
        """Open (and migrate) the ledger. ``BMAD_LEDGER_URL`` overrides ``url``; the default is
        ``sqlite:///<state_dir>/ledger.db``. ``signing_key`` seals running rows and signs anchors."""
        engine = make_engine(resolve_url(url, state_dir=state_dir))
        migrate(engine)
        return cls(engine, clock=clock, signing_key=signing_key)

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return self._db.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self._db.engine.dialect.name

    def now(self) -> datetime:
        return self._db.now()

    def close(self) -> None:
        self._db.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ releases

    def ensure_release(self, release: Release, *, created_at: datetime | None = None) -> int:
        """The id of the release, creating its row when it is new."""
        return self._runs.ensure_release(release, created_at=created_at)

    def get_release(self, service: str, environment: str, version: str) -> ReleaseHistory | None:
        return self._history.get_release(service, environment, version)

    def latest_release(self, service: str, environment: str) -> ReleaseHistory | None:
        found = self.list_releases(service=service, environment=environment, limit=1)
        return found[0] if found else None

    def list_releases(
        self,
        *,
        service: str | None = None,
        environment: str | None = None,
        limit: int | None = None,
        before: datetime | None = None,
    ) -> list[ReleaseHistory]:
        """Releases, newest first, each with every phase attempt (timings, statuses, metrics,
        artifacts, checks) and its rollbacks."""
        return self._history.list_releases(service=service, environment=environment, limit=limit, before=before)

    # ------------------------------------------------------------------ phases

    def start_phase(
        self,
        release: Release,
        phase: PhaseName,
        *,
        owner: str | None = None,
        forced_reason: str | None = None,
        started_at: datetime | None = None,
        evidence_dir: str | None = None,
    ) -> int:
        """Record that ``phase`` of ``release`` is now running; returns the phase run id."""
        return self._runs.start_phase(
            release, phase, owner=owner, forced_reason=forced_reason, started_at=started_at, evidence_dir=evidence_dir
        )

    def next_attempt(self, release: Release, phase: PhaseName) -> int:
        return self._history.next_attempt(release, phase)

    def set_evidence_dir(self, run_id: int, evidence_dir: str) -> None:
        self._runs.set_evidence_dir(run_id, evidence_dir)

    def finish_phase(
        self,
        run_id: int,
        result: PhaseResult,
        *,
        evidence_dir: str | None = None,
        rollback: RollbackInput | None = None,
    ) -> PhaseRunRecord:
        """Record the outcome of a running phase (and its rollback, if any) in one transaction.

        The record is chained: its hash covers its content and the previous record's hash.
        """
        return self._runs.finish_phase(run_id, result, evidence_dir=evidence_dir, rollback=rollback)

    def record_phase(
        self,
        release: Release,
        result: PhaseResult,
        *,
        owner: str | None = None,
        evidence_dir: str | None = None,
        rollback: RollbackInput | None = None,
    ) -> PhaseRunRecord:
        """Start and finish a phase at once (imports, tests, and the reports' fixtures)."""
        run_id = self.start_phase(
            release, result.phase, owner=owner, forced_reason=result.forced_reason, started_at=result.started_at
        )
        return self.finish_phase(run_id, result, evidence_dir=evidence_dir, rollback=rollback)

    def phase_run(self, run_id: int) -> PhaseRunRecord | None:
        return self._history.phase_run(run_id)

    def latest_results(self, release: Release) -> dict[PhaseName, PhaseResult]:
        """The latest attempt of each phase of ``release`` that finished or is running."""
        return self._history.latest_results(release)

    def detect_interrupted(self, service: str, environment: str) -> list[PhaseRunRecord]:
        """Turn phase runs left ``running`` by a dead process into ``interrupted`` (chained records).

        A run is dead when the lock of its (service, environment) is no longer held by its owner,
        or is stale (the owner's pid is gone on this host, or the lease expired).
        """
        return self._runs.detect_interrupted(service, environment)

    # ------------------------------------------------------------------ rollbacks and the chain

    def record_rollback(self, release: Release, rollback: RollbackInput) -> RollbackRecord:
        return self._runs.record_rollback(release, rollback)

    def verify(self, anchors: Sequence[ChainAnchor] = ()) -> VerifyReport:
        """Recompute the hash chain and compare it with ``anchors`` (chain hashes kept outside the
        database); name every record that was edited, deleted or forged."""
        return chain.verify(self._db, anchors, key=self._signing_key)

    def anchor_signature(self, chain_hash: str) -> str | None:
        """The signature an anchor of ``chain_hash`` carries (None without a signing key)."""
        return sign(self._signing_key, chain_hash) if self._signing_key else None

    # ------------------------------------------------------------------ locks

    def acquire_lock(
        self,
        service: str,
        environment: str,
        *,
        owner: str | None = None,
        lease_seconds: float = 30.0,
        wait_seconds: float = 0.0,
        poll_seconds: float = 0.2,
        heartbeat: bool = True,
        on_wait: Callable[[LockInfo], None] | None = None,
    ) -> LedgerLock:
        """Take the lock of (service, environment), waiting up to ``wait_seconds`` (``math.inf``: forever).

        A lock whose owner died (pid gone on this host) or whose lease expired is taken over with
        a conditional UPDATE, so two processes can never both steal it. Raises LockHeld.
        """
        return self._locks.acquire(
            service,
            environment,
            owner=owner,
            lease_seconds=lease_seconds,
            wait_seconds=wait_seconds,
            poll_seconds=poll_seconds,
            heartbeat=heartbeat,
            on_wait=on_wait,
        )

    def lock_info(self, service: str, environment: str) -> LockInfo | None:
        return self._locks.info(service, environment)

    # ------------------------------------------------------------------ history port

    def history_for(self, release: Release) -> LedgerHistory:
        return LedgerHistory(self._history, release)
