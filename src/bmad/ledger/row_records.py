"""Rows of the ledger's tables turned into the plain records of :mod:`bmad.ledger.records`."""

from __future__ import annotations

from typing import Any

from bmad.core.ci import Deployer
from bmad.core.models import CheckResult, PhaseName, PhaseStatus, Release
from bmad.core.spans import Span, SpanKind
from bmad.ledger.records import (
    ChecksOf,
    LockInfo,
    PhaseRunRecord,
    ReleaseHistory,
    RollbackRecord,
    bare_phases,
    checked_phases,
    earlier_outlined,
    latest_only,
    latest_run_ids,
)
from bmad.ledger.schema import LockRow, PhaseRunRow, ReleaseRow, RollbackRow


def release_of(row: ReleaseRow) -> Release:
    return Release(
        service=row.service,
        environment=row.environment,
        version=row.version,
        dirty=row.dirty,
        commit_time=row.commit_time,
    )


def run_record(
    row: PhaseRunRow,
    *,
    with_checks: bool = True,
    shadowed_artifacts: bool = True,
    bare: bool = False,
    outline: bool = False,
) -> PhaseRunRecord:
    """The record of a phase run (``with_checks=False``: without its checks, which are not loaded;
    ``shadowed_artifacts=False``: each check without the artifacts the run's own artifacts also name;
    ``bare``: without metrics and artifacts too; ``outline``: bare, without checks, and marked so)."""
    bare = bare or outline
    shadow = set(row.artifacts or {}) if not shadowed_artifacts else set()
    return PhaseRunRecord(
        id=row.id,
        release=release_of(row.release),
        phase=PhaseName(row.phase),
        attempt=row.attempt,
        status=PhaseStatus(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        forced_reason=row.forced_reason,
        metrics={} if bare else dict(row.metrics or {}),
        artifacts={} if bare else dict(row.artifacts or {}),
        message=row.message,
        evidence_dir=row.evidence_dir,
        checks=tuple(_check(c.data, shadow) for c in sorted(row.checks, key=lambda c: c.position))
        if with_checks and not outline
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
        outline=outline,
    )


def _check(data: dict[str, Any], shadow: set[str]) -> CheckResult:
    """The check of a stored ``data``, without its artifacts named in ``shadow``."""
    artifacts = data.get("artifacts")
    if shadow and isinstance(artifacts, dict):
        data = {**data, "artifacts": {name: value for name, value in artifacts.items() if name not in shadow}}
    return CheckResult.from_dict(data)


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


def release_history(
    row: ReleaseRow, *, with_checks: ChecksOf = True, shadowed_artifacts: bool = True
) -> ReleaseHistory:
    """The release of ``row`` with its runs (and the checks that ``with_checks`` asks for, with or
    without the artifacts their runs also hold: ``shadowed_artifacts``) and rollbacks."""
    phases = {phase.value for phase in checked_phases(with_checks)}
    bare = {phase.value for phase in bare_phases(with_checks)}
    runs = sorted(row.runs, key=lambda r: (r.started_at, r.id))
    latest = latest_run_ids((run.id, run.phase, run.started_at) for run in runs)
    outlined = {run.id for run in runs if run.id not in latest} if earlier_outlined(with_checks) else set()
    if latest_only(with_checks) and not earlier_outlined(with_checks):  # the earlier attempts left out
        runs = [run for run in runs if run.id in latest]
    return ReleaseHistory(
        id=row.id,
        release=release_of(row),
        created_at=row.created_at,
        runs=[
            run_record(
                run,
                with_checks=run.phase in phases,
                shadowed_artifacts=shadowed_artifacts,
                bare=run.phase in bare,
                outline=run.id in outlined,
            )
            for run in runs
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
