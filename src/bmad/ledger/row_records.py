"""Rows of the ledger's tables turned into the plain records of :mod:`bmad.ledger.records`."""

from __future__ import annotations

from bmad.core.ci import Deployer
from bmad.core.models import CheckResult, PhaseName, PhaseStatus, Release
from bmad.core.spans import Span, SpanKind
from bmad.ledger.records import ChecksOf, LockInfo, PhaseRunRecord, ReleaseHistory, RollbackRecord, checked_phases
from bmad.ledger.schema import LockRow, PhaseRunRow, ReleaseRow, RollbackRow


def release_of(row: ReleaseRow) -> Release:
    return Release(
        service=row.service,
        environment=row.environment,
        version=row.version,
        dirty=row.dirty,
        commit_time=row.commit_time,
    )


def run_record(row: PhaseRunRow, *, with_checks: bool = True) -> PhaseRunRecord:
    """The record of a phase run (``with_checks=False``: without its checks, which are not loaded)."""
    return PhaseRunRecord(
        id=row.id,
        release=release_of(row.release),
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
        checks=tuple(CheckResult.from_dict(c.data) for c in sorted(row.checks, key=lambda c: c.position))
        if with_checks
        else (),
        owner=row.owner,
        pid=row.pid,
        host=row.host,
        chain_seq=row.chain_seq,
        hash=row.hash,
        spans=tuple(
            Span(SpanKind(s.kind), s.label, s.started_at, s.finished_at)
            for s in sorted(row.spans, key=lambda s: s.position)
        ),
        deployer=Deployer(actor=row.actor, run_url=row.ci_run_url, trigger=row.ci_trigger),
    )


def rollback_record(row: RollbackRow) -> RollbackRecord:
    return RollbackRecord(
        id=row.id,
        release=release_of(row.release),
        from_version=row.from_version,
        to_version=row.to_version,
        reason=row.reason,
        detected_at=row.detected_at,
        recovered_at=row.recovered_at,
        mttr_seconds=row.mttr_seconds,
        manual=bool(row.manual),
    )


def release_history(row: ReleaseRow, *, with_checks: ChecksOf = True) -> ReleaseHistory:
    """The release of ``row`` with its runs (and the checks that ``with_checks`` asks for) and rollbacks."""
    phases = {phase.value for phase in checked_phases(with_checks)}
    return ReleaseHistory(
        id=row.id,
        release=release_of(row),
        created_at=row.created_at,
        runs=[
            run_record(run, with_checks=run.phase in phases)
            for run in sorted(row.runs, key=lambda r: (r.started_at, r.id))
        ],
        rollbacks=[rollback_record(rb) for rb in row.rollbacks],
    )


def lock_info(row: LockRow) -> LockInfo:
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
