"""Writing the ledger: releases, phase runs (start, finish, interrupted) and rollbacks.

Every finished phase run and every rollback is linked into the hash chain in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bmad.core.ci import Deployer
from bmad.core.models import CheckResult, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.core.redact import redact, redact_data
from bmad.ledger import chain
from bmad.ledger.content import seal, sealed
from bmad.ledger.hashing import plain
from bmad.ledger.history import find_release
from bmad.ledger.lease import owner_host, owner_pid
from bmad.ledger.locks import lock_stale
from bmad.ledger.records import LedgerError, PhaseRunRecord, RollbackInput, RollbackRecord, check_data
from bmad.ledger.row_json import PlainArtifacts
from bmad.ledger.row_records import rollback_record, run_record
from bmad.ledger.schema import CheckResultRow, LockRow, PhaseRunRow, ReleaseRow, RollbackRow, SpanRow
from bmad.ledger.transactions import Database

log = logging.getLogger("bmad.ledger")


class RunWriter:
    """Releases, phase runs and rollbacks: every write but the locks'."""

    def __init__(self, db: Database, *, signing_key: str | None = None) -> None:
        self._db = db
        self._key = signing_key

    def ensure_release(self, release: Release, *, created_at: datetime | None = None) -> int:
        for _ in range(3):
            try:
                with self._db.tx() as session:
                    row = find_release(session, release)
                    if row is not None:
                        return row.id
                    row = ReleaseRow(
                        service=release.service,
                        environment=release.environment,
                        version=release.version,
                        dirty=release.dirty,
                        commit_time=release.commit_time,
                        created_at=created_at or self._db.now(),
                    )
                    session.add(row)
                    session.flush()
                    return row.id
            except IntegrityError:  # created concurrently: read it back
                continue
        raise LedgerError(f"could not record release {release.key}")

    def start_phase(
        self,
        release: Release,
        phase: PhaseName,
        *,
        owner: str | None,
        forced_reason: str | None,
        started_at: datetime | None,
        evidence_dir: str | None,
        deployer: Deployer | None = None,
    ) -> int:
        release_id = self.ensure_release(release)
        who = deployer or Deployer()
        with self._db.tx() as session:
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
                started_at=started_at or self._db.now(),
                forced_reason=redact(forced_reason) if forced_reason else None,
                metrics={},
                artifacts={},
                message="",
                evidence_dir=evidence_dir,
                owner=owner,
                pid=owner_pid(owner),
                host=owner_host(owner),
                actor=redact(who.actor) if who.actor else None,
                ci_run_url=redact(who.run_url) if who.run_url else None,
                ci_trigger=redact(who.trigger) if who.trigger else None,
            )
            session.add(row)
            session.flush()
            row.hash = seal(row, self._key)  # only a sealed running row is ever chained as interrupted
            return row.id

    def set_evidence_dir(self, run_id: int, evidence_dir: str) -> None:
        with self._db.tx() as session:
            session.execute(update(PhaseRunRow).where(PhaseRunRow.id == run_id).values(evidence_dir=evidence_dir))

    def finish_phase(
        self,
        run_id: int,
        result: PhaseResult,
        *,
        evidence_dir: str | None,
        rollback: RollbackInput | None,
        texts: PlainArtifacts | None = None,  # kept by the SQLite writer only: the ORM encodes its own
    ) -> PhaseRunRecord:
        if not result.status.finished:
            raise LedgerError(f"cannot finish a phase with status {result.status.value}")
        with self._db.tx() as session:
            row = _running_row(session, run_id)
            self._fill(row, result, evidence_dir)
            session.flush()
            chain.link(session, row)
            if rollback is not None:
                _add_rollback(session, row.release, rollback)
            session.flush()
            return run_record(row)

    def _fill(self, row: PhaseRunRow, result: PhaseResult, evidence_dir: str | None) -> None:
        """Copy a finished phase's outcome (redacted) into its row."""
        row.status = result.status.value
        if result.started_at is not None:
            row.started_at = result.started_at
        row.finished_at = result.finished_at or self._db.now()
        if result.forced_reason:
            row.forced_reason = redact(result.forced_reason)
        row.metrics = plain(redact_data(result.metrics))
        row.artifacts = plain(redact_data(result.artifacts))
        row.message = redact(result.message)
        if evidence_dir is not None:
            row.evidence_dir = evidence_dir
        for position, check in enumerate(result.checks):
            row.checks.append(_check_row(position, check))
        for position, span in enumerate(result.spans):
            row.spans.append(
                SpanRow(
                    position=position,
                    kind=span.kind.value,
                    label=redact(span.label),
                    started_at=span.start,
                    finished_at=span.end,
                )
            )

    def detect_interrupted(self, service: str, environment: str) -> list[PhaseRunRecord]:
        now = self._db.now()
        with self._db.tx() as session:
            lock = session.get(LockRow, (service, environment))
            live_owner = lock.owner if lock is not None and not lock_stale(lock, now) else None
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
                if not sealed(row, self._key):
                    log.warning("%s: a running record bmad did not start; left unchained", chain.describe(row))
                    continue
                row.status = PhaseStatus.INTERRUPTED.value
                row.finished_at = now
                who = f"process {row.pid} on {row.host}" if row.pid else "the process that ran it"
                row.message = f"{who} stopped while the phase was running (found at {now.isoformat()})"
                session.flush()
                chain.link(session, row)
                changed.append(row)
            session.flush()
            return [run_record(row) for row in changed]

    def record_rollback(self, release: Release, rollback: RollbackInput) -> RollbackRecord:
        release_id = self.ensure_release(release)
        with self._db.tx() as session:
            row = session.get(ReleaseRow, release_id)
            assert row is not None
            return rollback_record(_add_rollback(session, row, rollback))


def _running_row(session: Session, run_id: int) -> PhaseRunRow:
    """The row of a phase run that is still running, locked for the update."""
    row = session.get(PhaseRunRow, run_id, with_for_update=True)
    if row is None:
        raise LedgerError(f"phase run {run_id} does not exist")
    if row.status != PhaseStatus.RUNNING.value:
        raise LedgerError(
            f"phase run {run_id} is {row.status}, not running: another process took over this release",
            hint="check 'bmad status'; the lock may have expired while this run was paused",
        )
    return row


def _add_rollback(session: Session, release: ReleaseRow, rollback: RollbackInput) -> RollbackRow:
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
    chain.link(session, row)
    return row


def _check_row(position: int, check: CheckResult) -> CheckResultRow:
    data = plain(redact_data(check_data(check)))
    return CheckResultRow(
        position=position,
        check_id=check.id,
        title=data["title"],
        status=check.status.value,
        duration_seconds=check.duration_seconds,
        data=data,
    )
