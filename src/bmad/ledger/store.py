"""The deployment ledger: releases, phase runs, check results, rollbacks, locks — and a hash chain.

:class:`Ledger` is the one API the engine, the CLI and the reports use; it hands each call to
the part that owns it: :mod:`~bmad.ledger.runs` (writes), :mod:`~bmad.ledger.chain` (hash chain,
verify), :mod:`~bmad.ledger.locks` and :mod:`~bmad.ledger.history` (reads).

Every public write is one database transaction. Timestamps are injectable (``clock`` for
the defaults, explicit arguments everywhere a test needs known data).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bmad.core.ci import Deployer
from bmad.core.datatypes import datatype
from bmad.core.models import PhaseName, PhaseResult, Release, utcnow
from bmad.ledger.reader import HEAD_REVISION, ChangeMarks, SqliteReader, file_marker, sqlite_file, stored_revision
from bmad.ledger.records import (
    LATEST_ATTEMPTS,
    ChecksOf,
    LatestAttemptsOf,
    LockInfo,
    PhaseRunRecord,
    ReleaseHistory,
    ReleaseOutline,
    RollbackInput,
    RollbackRecord,
    VerifyReport,
)
from bmad.ledger.urls import resolve_url

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bmad.ledger.anchors import ChainAnchor
    from bmad.ledger.history import HistoryQueries
    from bmad.ledger.history_port import LedgerHistory
    from bmad.ledger.lease import LedgerLock
    from bmad.ledger.locks import Locks
    from bmad.ledger.row_json import PlainArtifacts
    from bmad.ledger.runs import RunWriter
    from bmad.ledger.sqlite_locks import SqliteLocks
    from bmad.ledger.sqlite_writer import SqliteWriter
    from bmad.ledger.transactions import Clock, Database
    from bmad.ports.notifications import DeliveryRecord


@datatype(frozen=True)
class _Parts:
    """The SQLAlchemy side of the ledger: the database and the parts that own its writes and reads."""

    db: Database
    runs: RunWriter
    locks: Locks
    history: HistoryQueries


def _parts_over(engine: Engine, clock: Clock, signing_key: str | None) -> _Parts:
    from bmad.ledger.history import HistoryQueries
    from bmad.ledger.locks import Locks
    from bmad.ledger.runs import RunWriter
    from bmad.ledger.transactions import Database

    db = Database(engine, clock)
    runs = RunWriter(db, signing_key=signing_key)
    return _Parts(db=db, runs=runs, locks=Locks(db), history=HistoryQueries(db))


@datatype(frozen=True)
class _SqliteParts:
    """The sqlite3 side of a SQLite ledger at the code's schema revision: what a phase writes."""

    writer: SqliteWriter
    locks: SqliteLocks

    @classmethod
    def over(cls, path: Path, clock: Clock, signing_key: str | None) -> _SqliteParts:
        from bmad.ledger.sqlite_locks import SqliteLocks
        from bmad.ledger.sqlite_writer import SqliteWriter

        return cls(writer=SqliteWriter(path, clock, signing_key=signing_key), locks=SqliteLocks(path, clock))


class Ledger:
    """The ledger API used by the engine, the CLI and the reports.

    Open with :meth:`open` (runs migrations) and close with :meth:`close` (or use ``with``).
    A SQLite ledger already at the code's schema revision is opened without SQLAlchemy: reads go
    through :class:`~bmad.ledger.reader.SqliteReader`, what a phase writes through
    :class:`~bmad.ledger.sqlite_writer.SqliteWriter` and :class:`~bmad.ledger.sqlite_locks.SqliteLocks`;
    SQLAlchemy loads only for the rest (``verify``, ``phase_run``).
    """

    def __init__(
        self,
        engine: Engine | None,
        *,
        clock: Clock = utcnow,
        url: str | None = None,
        signing_key: str | None = None,
    ) -> None:
        self._clock = clock
        self._url = url
        self._signing_key = signing_key
        self._opening = threading.Lock()
        self._opened: _Parts | None = None if engine is None else _parts_over(engine, clock, signing_key)
        path = sqlite_file(url) if engine is None and url is not None else None
        self._reader = SqliteReader(path) if path is not None else None
        self._fast_path = path
        self._fast_parts: _SqliteParts | None = None

    @property
    def _parts(self) -> _Parts:
        with self._opening:
            if self._opened is None:
                from bmad.ledger._db import make_engine

                assert self._url is not None  # a Ledger is built with an engine or a URL
                self._opened = _parts_over(make_engine(self._url), self._clock, self._signing_key)
            return self._opened

    @property
    def _fast(self) -> _SqliteParts | None:
        """The sqlite3 writer and locks of a SQLite ledger, built on first use (a read never needs them)."""
        if self._fast_path is None:
            return None
        with self._opening:
            if self._fast_parts is None:
                self._fast_parts = _SqliteParts.over(self._fast_path, self._clock, self._signing_key)
            return self._fast_parts

    @property
    def _writer(self) -> RunWriter | SqliteWriter:
        fast = self._fast
        return fast.writer if fast is not None else self._parts.runs

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
        resolved = resolve_url(url, state_dir=state_dir)
        path = sqlite_file(resolved)
        if path is not None and stored_revision(path) is None:
            from bmad.ledger.sqlite_head import create_at_head

            create_at_head(path)  # a new file gets the head schema without Alembic
        if path is not None and stored_revision(path) == HEAD_REVISION:
            # nothing to migrate: SQLAlchemy waits for a write
            return cls(None, clock=clock, url=resolved, signing_key=signing_key)
        from bmad.ledger._db import make_engine, migrate

        engine = make_engine(resolved)
        migrate(engine)
        return cls(engine, clock=clock, signing_key=signing_key)

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        if self._opened is None and self._url is not None:
            return self._url  # a plain SQLite file URL holds no password
        return self._parts.db.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        if self._opened is None and self._reader is not None:
            return "sqlite"
        return self._parts.db.engine.dialect.name

    def now(self) -> datetime:
        return self._clock()

    def close(self) -> None:
        if self._fast_parts is not None:
            self._fast_parts.writer.close()
        if self._opened is not None:
            self._opened.db.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ releases

    def ensure_release(self, release: Release, *, created_at: datetime | None = None) -> int:
        """The id of the release, creating its row when it is new."""
        return self._writer.ensure_release(release, created_at=created_at)

    def get_release(
        self,
        service: str,
        environment: str,
        version: str,
        *,
        with_checks: ChecksOf = True,
        shadowed_artifacts: bool = True,
    ) -> ReleaseHistory | None:
        """One release's history (``with_checks=False``: its runs without their checks, a cheaper read;
        a collection of phases: only the checks of those phases' runs).

        ``shadowed_artifacts=False``: each check without the artifacts that its run's own artifacts
        also name, for readers that look a name up in the run's artifacts first (as
        :meth:`bmad.reports.views.ReleaseView.artifact`), which never see those (an ANALYZE check's
        copy of the readiness report is a megabyte; SQLite leaves it out undecoded)."""
        if self._reader is not None:
            return self._reader.get_release(
                service, environment, version, with_checks=with_checks, shadowed_artifacts=shadowed_artifacts
            )
        return self._parts.history.get_release(
            service, environment, version, with_checks=with_checks, shadowed_artifacts=shadowed_artifacts
        )

    def change_stamp(self) -> str:
        """A short text that changes whenever a release, a phase run, a finished phase or a rollback
        is recorded (readers reload only then). Equal stamps mean nothing new was recorded."""
        if self._reader is not None:
            return self._reader.change_stamp()
        return self._parts.history.change_stamp()

    def releases_changed_since(
        self, marks: ChangeMarks, also: Collection[int] = (), *, with_checks: ChecksOf = True
    ) -> list[ReleaseHistory]:
        """Releases (newest first, as :meth:`list_releases`) recorded or touched after ``marks``: new
        releases, releases with a newer phase run or rollback, with a run still running, or in ``also``."""
        if self._reader is not None:
            return self._reader.releases_changed_since(marks, also, with_checks=with_checks)
        return self._parts.history.releases_changed_since(marks, also, with_checks=with_checks)

    def write_marker(self) -> str | None:
        """A text that changes with any write to the database, bmad's or by hand (the change stamp
        misses edits): the SQLite files' sizes and times, PostgreSQL's log position; None elsewhere."""
        path = sqlite_file(self.url)
        if path is not None:
            return file_marker(path)
        if self.dialect == "postgresql":
            return self._parts.history.wal_position()
        return None

    def latest_release(self, service: str, environment: str, *, with_checks: ChecksOf = True) -> ReleaseHistory | None:
        found = self.list_releases(service=service, environment=environment, limit=1, with_checks=with_checks)
        return found[0] if found else None

    def list_releases(
        self,
        *,
        service: str | None = None,
        environment: str | None = None,
        limit: int | None = None,
        before: datetime | None = None,
        with_checks: ChecksOf = True,
    ) -> list[ReleaseHistory]:
        """Releases, newest first, each with every phase attempt (timings, statuses, metrics,
        artifacts, checks) and its rollbacks. ``with_checks=False`` leaves the checks out: reads
        that need only statuses and timings then do not load every check of every release; a
        collection of phases loads only the checks of those phases' runs."""
        queries = self._reader if self._reader is not None else self._parts.history
        return queries.list_releases(
            service=service, environment=environment, limit=limit, before=before, with_checks=with_checks
        )

    def release_outlines(
        self, *, service: str | None = None, environment: str | None = None, details: Collection[PhaseName] = ()
    ) -> list[ReleaseOutline]:
        """Releases, newest first, as outlines: the latest result of each phase (status and times;
        metrics, artifacts and checks only for the phases of ``details``) and the rollbacks. What
        the framework metrics need, without the rest of every run of every release."""
        if self._reader is not None:
            return self._reader.release_outlines(service=service, environment=environment, details=details)
        from bmad.ledger.records import outline_of

        wanted = frozenset(details)
        latest = LatestAttemptsOf(wanted, bare_others=True)  # the other phases' status and times only
        histories = self._parts.history.list_releases(service=service, environment=environment, with_checks=latest)
        return [outline_of(history, wanted) for history in histories]

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
        deployer: Deployer | None = None,
    ) -> int:
        """Record that ``phase`` of ``release`` is now running (run by ``deployer``); returns the phase run id."""
        return self._writer.start_phase(
            release,
            phase,
            owner=owner,
            forced_reason=forced_reason,
            started_at=started_at,
            evidence_dir=evidence_dir,
            deployer=deployer,
        )

    def next_attempt(self, release: Release, phase: PhaseName) -> int:
        if self._reader is not None:
            return self._reader.next_attempt(release, phase)
        return self._parts.history.next_attempt(release, phase)

    def set_evidence_dir(self, run_id: int, evidence_dir: str) -> None:
        self._writer.set_evidence_dir(run_id, evidence_dir)

    def finish_phase(
        self,
        run_id: int,
        result: PhaseResult,
        *,
        evidence_dir: str | None = None,
        rollback: RollbackInput | None = None,
        texts: PlainArtifacts | None = None,
    ) -> PhaseRunRecord:
        """Record the outcome of a running phase (and its rollback, if any) in one transaction.

        The record is chained: its hash covers its content and the previous record's hash. ``texts``:
        where the artifacts' plain forms and JSON texts are kept, for a caller that writes them again
        (the engine's phase record names a large artifact by the digest of the same text).
        """
        return self._writer.finish_phase(run_id, result, evidence_dir=evidence_dir, rollback=rollback, texts=texts)

    def record_phase(
        self,
        release: Release,
        result: PhaseResult,
        *,
        owner: str | None = None,
        evidence_dir: str | None = None,
        rollback: RollbackInput | None = None,
        deployer: Deployer | None = None,
    ) -> PhaseRunRecord:
        """Start and finish a phase at once (imports, tests, and the reports' fixtures)."""
        run_id = self.start_phase(
            release,
            result.phase,
            owner=owner,
            forced_reason=result.forced_reason,
            started_at=result.started_at,
            deployer=deployer,
        )
        return self.finish_phase(run_id, result, evidence_dir=evidence_dir, rollback=rollback)

    def phase_run(self, run_id: int) -> PhaseRunRecord | None:
        return self._parts.history.phase_run(run_id)

    def latest_results(self, release: Release, *, with_checks: ChecksOf = True) -> dict[PhaseName, PhaseResult]:
        """The latest attempt of each phase of ``release`` that finished or is running."""
        wanted = LATEST_ATTEMPTS if with_checks is True else with_checks  # only the latest attempts are returned
        history = self.get_release(release.service, release.environment, release.version, with_checks=wanted)
        if history is None:
            return {}
        return {phase: run.to_result() for phase, run in history.phases.items()}

    def results_before(self, release: Release, phase: PhaseName | None) -> dict[PhaseName, PhaseResult]:
        """:meth:`latest_results` for a run about to run ``phase``: that phase's own latest attempt
        comes bare: no checks, metrics or artifacts (a phase is never shown its own earlier attempt, and
        an ANALYZE attempt's checks and artifacts can be megabytes); the gate reads only its status."""
        if phase is None:
            return self.latest_results(release)
        return self.latest_results(
            release, with_checks=LatestAttemptsOf(frozenset(PhaseName) - {phase}, bare_others=True)
        )

    def detect_interrupted(self, service: str, environment: str) -> list[PhaseRunRecord]:
        """Turn phase runs left ``running`` by a dead process into ``interrupted`` (chained records).

        A run is dead when the lock of its (service, environment) is no longer held by its owner,
        or is stale (the owner's pid is gone on this host, or the lease expired).
        """
        if self._reader is not None and not self._reader.running_runs(service, environment):
            return []  # nothing is marked running: nothing to look at, nothing to write
        return self._writer.detect_interrupted(service, environment)

    # ------------------------------------------------------------------ rollbacks and the chain

    def record_rollback(self, release: Release, rollback: RollbackInput) -> RollbackRecord:
        return self._writer.record_rollback(release, rollback)

    def verify(self, anchors: Sequence[ChainAnchor] = ()) -> VerifyReport:
        """Recompute the hash chain and compare it with ``anchors`` (chain hashes kept outside the
        database); name every record that was edited, deleted or forged."""
        from bmad.ledger import chain

        return chain.verify(self._parts.db, anchors, key=self._signing_key)

    def anchor_signature(self, chain_hash: str) -> str | None:
        """The signature an anchor of ``chain_hash`` carries (None without a signing key)."""
        from bmad.ledger.content import sign

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
        from bmad.ledger.lease import acquire

        fast = self._fast
        locks = fast.locks if fast is not None else self._parts.locks
        return acquire(
            locks,
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
        if self._reader is not None:
            return self._reader.lock_info(service, environment)
        return self._parts.locks.info(service, environment)

    # ------------------------------------------------------------------ notification deliveries

    def record_deliveries(self, release: Release, records: Sequence[DeliveryRecord]) -> None:
        """Keep ``records`` (redacted) with the release: the runbook's "Team notified" row reads them."""
        if not records:
            return
        release_id = self.ensure_release(release)
        if self._reader is not None:  # a SQLite ledger at the code's revision: no SQLAlchemy
            from bmad.ledger.deliveries import insert_deliveries

            insert_deliveries(self._reader.path, release_id, records)
            return
        from bmad.ledger.delivery_rows import add_deliveries

        add_deliveries(self._parts.db, release_id, records)

    def deliveries(self, release: Release) -> list[DeliveryRecord]:
        """The release's notification deliveries, oldest first."""
        if self._reader is not None:
            from bmad.ledger.deliveries import select_deliveries

            return select_deliveries(self._reader.path, release)
        from bmad.ledger.delivery_rows import release_deliveries

        return release_deliveries(self._parts.db, release)

    def deliveries_of(self, release_ids: Collection[int]) -> dict[int, list[DeliveryRecord]]:
        """The notification deliveries of each release of ``release_ids`` (ledger ids, as
        :attr:`ReleaseHistory.id`), oldest first, read in one query."""
        if self._reader is not None:
            from bmad.ledger.deliveries import select_deliveries_of

            return select_deliveries_of(self._reader.path, release_ids)
        from bmad.ledger.delivery_rows import deliveries_of

        return deliveries_of(self._parts.db, release_ids)

    # ------------------------------------------------------------------ history port

    def history_for(self, release: Release) -> LedgerHistory:
        from bmad.ledger.history_port import LedgerHistory

        return LedgerHistory(self, release)
