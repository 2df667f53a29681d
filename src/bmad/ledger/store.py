"""The deployment ledger: releases, phase runs, check results, rollbacks, locks — and a hash chain.

Every public write is one database transaction. Timestamps are injectable (``clock`` for
the defaults, explicit arguments everywhere a test needs known data).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from bmad.core.errors import BmadError, LockHeld, Unreachable
from bmad.core.models import CheckResult, PhaseName, PhaseResult, PhaseStatus, Release, utcnow
from bmad.core.redact import redact, redact_data
from bmad.ledger._db import make_engine, migrate, resolve_url
from bmad.ledger.hashing import chain_hash, iso, plain
from bmad.ledger.procs import pid_alive, this_host
from bmad.ledger.records import (
    LockInfo,
    PhaseRunRecord,
    ReleaseHistory,
    RollbackInput,
    RollbackRecord,
    VerifyReport,
)
from bmad.ledger.schema import ChainHeadRow, CheckResultRow, LockRow, PhaseRunRow, ReleaseRow, RollbackRow
from bmad.ports.history import ReleaseRecord

Clock = Callable[[], datetime]


class LedgerError(BmadError):
    """The ledger refused a write (e.g. finishing a phase that is no longer running)."""


def new_owner() -> str:
    """A lock/run owner token: host, pid and a random part (one per bmad invocation)."""
    return f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Ledger:
    """The ledger API used by the engine, the CLI and the reports.

    Open with :meth:`open` (runs migrations) and close with :meth:`close` (or use ``with``).
    """

    def __init__(self, engine: Engine, *, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        state_dir: str | Path | None = None,
        clock: Clock = utcnow,
    ) -> Ledger:
        """Open (and migrate) the ledger. ``BMAD_LEDGER_URL`` overrides ``url``; the default is
        ``sqlite:///<state_dir>/ledger.db``."""
        engine = make_engine(resolve_url(url, state_dir=state_dir))
        migrate(engine)
        return cls(engine, clock=clock)

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def now(self) -> datetime:
        return self._clock()

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        try:
            with Session(self._engine, expire_on_commit=False) as session, session.begin():
                yield session
        except OperationalError as exc:
            raise Unreachable("ledger", "writing to the database", redact(str(exc.orig))) from None

    # ------------------------------------------------------------------ releases

    def ensure_release(self, release: Release, *, created_at: datetime | None = None) -> int:
        """The id of the release, creating its row when it is new."""
        for _ in range(3):
            try:
                with self._tx() as session:
                    row = self._find_release(session, release)
                    if row is not None:
                        return row.id
                    row = ReleaseRow(
                        service=release.service,
                        environment=release.environment,
                        version=release.version,
                        dirty=release.dirty,
                        commit_time=release.commit_time,
                        created_at=created_at or self.now(),
                    )
                    session.add(row)
                    session.flush()
                    return row.id
            except IntegrityError:  # created concurrently: read it back
                continue
        raise LedgerError(f"could not record release {release.key}")

    def get_release(self, service: str, environment: str, version: str) -> ReleaseHistory | None:
        with self._tx() as session:
            row = session.scalars(
                self._history_query().where(
                    ReleaseRow.service == service,
                    ReleaseRow.environment == environment,
                    ReleaseRow.version == version,
                )
            ).first()
            return _history(row) if row is not None else None

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
        query = self._history_query()
        if service is not None:
            query = query.where(ReleaseRow.service == service)
        if environment is not None:
            query = query.where(ReleaseRow.environment == environment)
        if before is not None:
            query = query.where(ReleaseRow.created_at < before)
        query = query.order_by(ReleaseRow.created_at.desc(), ReleaseRow.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._tx() as session:
            return [_history(row) for row in session.scalars(query)]

    @staticmethod
    def _history_query() -> Any:
        return select(ReleaseRow).options(
            selectinload(ReleaseRow.runs).selectinload(PhaseRunRow.checks),
            selectinload(ReleaseRow.rollbacks),
        )

    @staticmethod
    def _find_release(session: Session, release: Release) -> ReleaseRow | None:
        return session.scalars(
            select(ReleaseRow).where(
                ReleaseRow.service == release.service,
                ReleaseRow.environment == release.environment,
                ReleaseRow.version == release.version,
            )
        ).first()

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
        release_id = self.ensure_release(release)
        with self._tx() as session:
            attempts = session.scalars(
                select(PhaseRunRow.attempt).where(
                    PhaseRunRow.release_id == release_id, PhaseRunRow.phase == phase.value
                )
            ).all()
            row = PhaseRunRow(
                release_id=release_id,
                phase=phase.value,
                attempt=max(attempts, default=0) + 1,
                status=PhaseStatus.RUNNING.value,
                started_at=started_at or self.now(),
                forced_reason=redact(forced_reason) if forced_reason else None,
                metrics={},
                artifacts={},
                message="",
                evidence_dir=evidence_dir,
                owner=owner,
                pid=_owner_pid(owner),
                host=_owner_host(owner),
            )
            session.add(row)
            session.flush()
            return row.id

    def next_attempt(self, release: Release, phase: PhaseName) -> int:
        with self._tx() as session:
            row = self._find_release(session, release)
            if row is None:
                return 1
            attempts = session.scalars(
                select(PhaseRunRow.attempt).where(PhaseRunRow.release_id == row.id, PhaseRunRow.phase == phase.value)
            ).all()
            return max(attempts, default=0) + 1

    def set_evidence_dir(self, run_id: int, evidence_dir: str) -> None:
        with self._tx() as session:
            session.execute(update(PhaseRunRow).where(PhaseRunRow.id == run_id).values(evidence_dir=evidence_dir))

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
        if not result.status.finished:
            raise LedgerError(f"cannot finish a phase with status {result.status.value}")
        with self._tx() as session:
            row = session.get(PhaseRunRow, run_id, with_for_update=True)
            if row is None:
                raise LedgerError(f"phase run {run_id} does not exist")
            if row.status != PhaseStatus.RUNNING.value:
                raise LedgerError(
                    f"phase run {run_id} is {row.status}, not running: another process took over this release",
                    hint="check 'bmad status'; the lock may have expired while this run was paused",
                )
            row.status = result.status.value
            if result.started_at is not None:
                row.started_at = result.started_at
            row.finished_at = result.finished_at or self.now()
            if result.forced_reason:
                row.forced_reason = redact(result.forced_reason)
            row.metrics = plain(redact_data(result.metrics))
            row.artifacts = plain(redact_data(result.artifacts))
            row.message = redact(result.message)
            if evidence_dir is not None:
                row.evidence_dir = evidence_dir
            for position, check in enumerate(result.checks):
                row.checks.append(_check_row(position, check))
            session.flush()
            self._chain(session, row)
            if rollback is not None:
                self._add_rollback(session, row.release, rollback)
            session.flush()
            return _run_record(row)

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
        with self._tx() as session:
            row = session.get(PhaseRunRow, run_id)
            return _run_record(row) if row is not None else None

    def latest_results(self, release: Release) -> dict[PhaseName, PhaseResult]:
        """The latest attempt of each phase of ``release`` that finished or is running."""
        history = self.get_release(release.service, release.environment, release.version)
        if history is None:
            return {}
        return {phase: run.to_result() for phase, run in history.phases.items()}

    def detect_interrupted(self, service: str, environment: str) -> list[PhaseRunRecord]:
        """Turn phase runs left ``running`` by a dead process into ``interrupted`` (chained records).

        A run is dead when the lock of its (service, environment) is no longer held by its owner,
        or is stale (the owner's pid is gone on this host, or the lease expired).
        """
        now = self.now()
        with self._tx() as session:
            lock = session.get(LockRow, (service, environment))
            live_owner = lock.owner if lock is not None and not _lock_stale(lock, now) else None
            rows = session.scalars(
                select(PhaseRunRow)
                .join(ReleaseRow)
                .where(
                    ReleaseRow.service == service,
                    ReleaseRow.environment == environment,
                    PhaseRunRow.status == PhaseStatus.RUNNING.value,
                )
                .order_by(PhaseRunRow.id)
                .with_for_update()
            ).all()
            changed = []
            for row in rows:
                if live_owner is not None and row.owner == live_owner:
                    continue
                row.status = PhaseStatus.INTERRUPTED.value
                row.finished_at = now
                who = f"process {row.pid} on {row.host}" if row.pid else "the process that ran it"
                row.message = f"{who} stopped while the phase was running (found at {now.isoformat()})"
                session.flush()
                self._chain(session, row)
                changed.append(row)
            session.flush()
            return [_run_record(row) for row in changed]

    # ------------------------------------------------------------------ rollbacks

    def record_rollback(self, release: Release, rollback: RollbackInput) -> RollbackRecord:
        release_id = self.ensure_release(release)
        with self._tx() as session:
            row = session.get(ReleaseRow, release_id)
            assert row is not None
            return _rollback_record(self._add_rollback(session, row, rollback))

    def _add_rollback(self, session: Session, release: ReleaseRow, rollback: RollbackInput) -> RollbackRow:
        mttr = None
        if rollback.recovered_at is not None:
            mttr = (rollback.recovered_at - rollback.detected_at).total_seconds()
        row = RollbackRow(
            release_id=release.id,
            from_version=release.version,
            to_version=rollback.to_version,
            reason=redact(rollback.reason),
            detected_at=rollback.detected_at,
            recovered_at=rollback.recovered_at,
            mttr_seconds=mttr,
            manual=rollback.manual,
        )
        row.release = release
        session.add(row)
        session.flush()
        self._chain(session, row)
        return row

    # ------------------------------------------------------------------ hash chain

    def _chain(self, session: Session, row: PhaseRunRow | RollbackRow) -> None:
        head = session.get(ChainHeadRow, 1, with_for_update=True)
        if head is None:
            head = ChainHeadRow(id=1, seq=0, hash="")
            session.add(head)
        row.chain_seq = head.seq + 1
        row.prev_hash = head.hash
        row.hash = chain_hash(head.hash, _content(row))
        head.seq = row.chain_seq
        head.hash = row.hash

    def verify(self) -> VerifyReport:
        """Recompute the hash chain; name every record that was edited or deleted."""
        report = VerifyReport()
        with self._tx() as session:
            head = session.get(ChainHeadRow, 1)
            runs = session.scalars(
                select(PhaseRunRow).options(selectinload(PhaseRunRow.checks), selectinload(PhaseRunRow.release))
            ).all()
            rollbacks = session.scalars(select(RollbackRow).options(selectinload(RollbackRow.release))).all()
            releases = {row.id for row in session.scalars(select(ReleaseRow)).all()}
            chained: dict[int, PhaseRunRow | RollbackRow] = {}
            for run in runs:
                if run.release_id not in releases:
                    report.problems.append(f"{_describe(run)}: its release row {run.release_id} was deleted")
                    continue
                if run.chain_seq is None:
                    if run.status != PhaseStatus.RUNNING.value:
                        report.problems.append(f"{_describe(run)}: status {run.status} but the record is not chained")
                    continue
                chained[run.chain_seq] = run
            for rollback in rollbacks:
                if rollback.release_id not in releases:
                    report.problems.append(f"{_describe(rollback)}: its release row {rollback.release_id} was deleted")
                    continue
                if rollback.chain_seq is not None:
                    chained[rollback.chain_seq] = rollback
            head_seq = head.seq if head is not None else 0
            previous_hash = ""
            for seq in range(1, max([head_seq, *chained]) + 1):
                row = chained.get(seq)
                if row is None:
                    report.problems.append(f"record #{seq} of the chain was deleted")
                    previous_hash = ""
                    continue
                report.checked += 1
                if isinstance(row, PhaseRunRow) and row.status == PhaseStatus.RUNNING.value:
                    report.problems.append(f"{_describe(row)}: chained but marked running (edited)")
                if previous_hash and row.prev_hash != previous_hash:
                    report.problems.append(
                        f"{_describe(row)}: does not follow record #{seq - 1} "
                        "(its link was edited or a record replaced)"
                    )
                expected = chain_hash(row.prev_hash or "", _content(row))
                if expected != row.hash:
                    report.problems.append(f"{_describe(row)}: content does not match its hash (edited)")
                previous_hash = row.hash or ""
            if head_seq and seq_hash(chained, head_seq) != (head.hash if head else ""):
                report.problems.append(f"chain head (#{head_seq}) does not match the newest record (edited or deleted)")
            if chained and max(chained) > head_seq:
                report.problems.append(f"records after the chain head #{head_seq} (chain head edited)")
        return report

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
        owner = owner or new_owner()
        deadline = time.monotonic() + wait_seconds if math.isfinite(wait_seconds) else math.inf
        told = False
        while True:
            holder = self._try_lock(service, environment, owner, lease_seconds)
            if holder is None:
                lock = LedgerLock(self, service, environment, owner, lease_seconds)
                if heartbeat:
                    lock.start_heartbeat()
                return lock
            if time.monotonic() >= deadline:
                raise LockHeld(
                    f"{service}/{environment} is locked by another bmad run "
                    f"(pid {holder.pid} on {holder.host}, since {holder.acquired_at:%Y-%m-%d %H:%M:%S}Z)",
                    hint="wait for it to finish, or pass --wait to queue behind it",
                )
            if on_wait is not None and not told:
                on_wait(holder)
                told = True
            time.sleep(min(poll_seconds, max(0.0, deadline - time.monotonic())))

    def _try_lock(self, service: str, environment: str, owner: str, lease_seconds: float) -> LockInfo | None:
        """None when ``owner`` now holds the lock, else the current holder."""
        now = self.now()
        values = {
            "owner": owner,
            "pid": _owner_pid(owner) or os.getpid(),
            "host": _owner_host(owner) or this_host(),
            "acquired_at": now,
            "lease_until": now + timedelta(seconds=lease_seconds),
            "heartbeat_at": now,
        }
        try:
            with self._tx() as session:
                session.add(LockRow(service=service, environment=environment, **values))
            return None
        except IntegrityError:
            pass
        with self._tx() as session:
            row = session.get(LockRow, (service, environment))
            if row is None:
                return _lock_info(LockRow(service=service, environment=environment, **values))  # retry next round
            if row.owner == owner:
                return None
            if not _lock_stale(row, now):
                return _lock_info(row)
            stolen = session.execute(
                update(LockRow)
                .where(
                    LockRow.service == service,
                    LockRow.environment == environment,
                    LockRow.owner == row.owner,
                    LockRow.heartbeat_at == row.heartbeat_at,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if getattr(stolen, "rowcount", 0) == 1:
                return None
            return _lock_info(row)

    def lock_info(self, service: str, environment: str) -> LockInfo | None:
        with self._tx() as session:
            row = session.get(LockRow, (service, environment))
            return _lock_info(row) if row is not None else None

    def _heartbeat(self, service: str, environment: str, owner: str, lease_seconds: float) -> bool:
        now = self.now()
        with self._tx() as session:
            result = session.execute(
                update(LockRow)
                .where(LockRow.service == service, LockRow.environment == environment, LockRow.owner == owner)
                .values(heartbeat_at=now, lease_until=now + timedelta(seconds=lease_seconds))
                .execution_options(synchronize_session=False)
            )
            return getattr(result, "rowcount", 0) == 1

    def _release_lock(self, service: str, environment: str, owner: str) -> None:
        with self._tx() as session:
            session.execute(
                delete(LockRow)
                .where(LockRow.service == service, LockRow.environment == environment, LockRow.owner == owner)
                .execution_options(synchronize_session=False)
            )

    # ------------------------------------------------------------------ history port

    def history_for(self, release: Release) -> LedgerHistory:
        return LedgerHistory(self, release)


class LedgerLock:
    """A held (service, environment) lock. A daemon thread renews the lease; ``lost`` is set when it
    could not (another process took over)."""

    def __init__(self, ledger: Ledger, service: str, environment: str, owner: str, lease_seconds: float) -> None:
        self.ledger = ledger
        self.service = service
        self.environment = environment
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="bmad-lock-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        interval = max(0.05, self.lease_seconds / 3)
        while not self._stop.wait(interval):
            try:
                if not self.ledger._heartbeat(self.service, self.environment, self.owner, self.lease_seconds):
                    self.lost.set()
                    return
            except BmadError:
                continue  # database briefly unavailable: try again before the lease runs out
            except Exception:  # never a traceback from a background thread
                logging.getLogger("bmad.ledger").exception("lock heartbeat failed")
                continue

    def heartbeat(self) -> bool:
        return self.ledger._heartbeat(self.service, self.environment, self.owner, self.lease_seconds)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.ledger._release_lock(self.service, self.environment, self.owner)

    def __enter__(self) -> LedgerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class LedgerHistory:
    """:class:`bmad.ports.history.History` over the ledger, for one release's service/environment."""

    def __init__(self, ledger: Ledger, release: Release) -> None:
        self._ledger = ledger
        self._release = release

    def _earlier(self, limit: int | None) -> list[ReleaseHistory]:
        everything = self._ledger.list_releases(service=self._release.service, environment=self._release.environment)
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
        for history in self._earlier(None):
            if history.phase_status(PhaseName.DEPLOY) is PhaseStatus.PASSED and not history.rolled_back:
                return history.to_record()
        return None


# ---------------------------------------------------------------------- helpers


def _owner_pid(owner: str | None) -> int | None:
    if not owner:
        return None
    parts = owner.split(":")
    if len(parts) >= 3 and parts[-2].isdigit():
        return int(parts[-2])
    return None


def _owner_host(owner: str | None) -> str | None:
    if not owner:
        return None
    parts = owner.split(":")
    return ":".join(parts[:-2]) if len(parts) >= 3 else None


def _lock_stale(row: LockRow, now: datetime) -> bool:
    if row.lease_until < now:
        return True
    return row.host == this_host() and not pid_alive(row.pid)


def _lock_info(row: LockRow) -> LockInfo:
    return LockInfo(
        service=row.service,
        environment=row.environment,
        owner=row.owner,
        pid=row.pid,
        host=row.host,
        acquired_at=row.acquired_at,
        lease_until=row.lease_until,
        heartbeat_at=row.heartbeat_at,
    )


def _check_row(position: int, check: CheckResult) -> CheckResultRow:
    data = plain(redact_data(check.to_dict()))
    return CheckResultRow(
        position=position,
        check_id=check.id,
        title=data["title"],
        status=check.status.value,
        duration_seconds=check.duration_seconds,
        data=data,
    )


def _release_of(row: ReleaseRow) -> Release:
    return Release(
        service=row.service,
        environment=row.environment,
        version=row.version,
        dirty=row.dirty,
        commit_time=row.commit_time,
    )


def _release_content(row: ReleaseRow) -> dict[str, Any]:
    return {
        "service": row.service,
        "environment": row.environment,
        "version": row.version,
        "dirty": bool(row.dirty),
        "commit_time": iso(row.commit_time),
    }


def _content(row: PhaseRunRow | RollbackRow) -> dict[str, Any]:
    """What a record's hash covers."""
    if isinstance(row, PhaseRunRow):
        return {
            "kind": "phase",
            "seq": row.chain_seq,
            "release": _release_content(row.release),
            "phase": row.phase,
            "attempt": row.attempt,
            "status": row.status,
            "started_at": iso(row.started_at),
            "finished_at": iso(row.finished_at),
            "forced_reason": row.forced_reason,
            "metrics": row.metrics,
            "artifacts": row.artifacts,
            "message": row.message,
            "evidence_dir": row.evidence_dir,
            "checks": [
                {
                    "position": c.position,
                    "check_id": c.check_id,
                    "title": c.title,
                    "status": c.status,
                    "duration_seconds": c.duration_seconds,
                    "data": c.data,
                }
                for c in sorted(row.checks, key=lambda c: c.position)
            ],
        }
    return {
        "kind": "rollback",
        "seq": row.chain_seq,
        "release": _release_content(row.release),
        "from_version": row.from_version,
        "to_version": row.to_version,
        "reason": row.reason,
        "detected_at": iso(row.detected_at),
        "recovered_at": iso(row.recovered_at),
        "mttr_seconds": row.mttr_seconds,
        "manual": bool(row.manual),
    }


def seq_hash(chained: dict[int, PhaseRunRow | RollbackRow], seq: int) -> str | None:
    row = chained.get(seq)
    return row.hash if row is not None else None


def _describe(row: PhaseRunRow | RollbackRow) -> str:
    seq = f", chain #{row.chain_seq}" if row.chain_seq is not None else ""
    if isinstance(row, PhaseRunRow):
        return f"phase_runs id {row.id} ({row.phase} attempt {row.attempt}{seq})"
    return f"rollbacks id {row.id} ({row.from_version[:12]} -> {(row.to_version or '?')[:12]}{seq})"


def _run_record(row: PhaseRunRow) -> PhaseRunRecord:
    return PhaseRunRecord(
        id=row.id,
        release=_release_of(row.release),
        phase=PhaseName(row.phase),
        attempt=row.attempt,
        status=PhaseStatus(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        forced_reason=row.forced_reason,
        metrics=dict(row.metrics or {}),
        artifacts=dict(row.artifacts or {}),
        message=row.message,
        evidence_dir=row.evidence_dir,
        checks=tuple(CheckResult.from_dict(c.data) for c in sorted(row.checks, key=lambda c: c.position)),
        owner=row.owner,
        pid=row.pid,
        host=row.host,
        chain_seq=row.chain_seq,
        hash=row.hash,
    )


def _rollback_record(row: RollbackRow) -> RollbackRecord:
    return RollbackRecord(
        id=row.id,
        release=_release_of(row.release),
        from_version=row.from_version,
        to_version=row.to_version,
        reason=row.reason,
        detected_at=row.detected_at,
        recovered_at=row.recovered_at,
        mttr_seconds=row.mttr_seconds,
        manual=bool(row.manual),
    )


def _history(row: ReleaseRow) -> ReleaseHistory:
    return ReleaseHistory(
        id=row.id,
        release=_release_of(row),
        created_at=row.created_at,
        runs=[_run_record(run) for run in sorted(row.runs, key=lambda r: (r.started_at, r.id))],
        rollbacks=[_rollback_record(rb) for rb in row.rollbacks],
    )
