"""A ledger with many releases, fast: the dashboard's volume tests and bench/serve.py.

Recording through :meth:`Ledger.record_phase` costs ~40 ms a release here (one transaction per
phase), so 10,000 releases would take minutes. This writes the same rows in one transaction per
batch: the ledger's own tables, check rows built as the ledger builds them (redacted, plain), and
every finished phase and rollback linked into the hash chain with the ledger's own record
content and hash (:func:`bmad.ledger.chain.content`, :func:`bmad.ledger.hashing.chain_hash`), so
``verify()`` passes over the result. The chain head is read once per batch, not once per record
as :func:`bmad.ledger.chain.link` does (a round trip each on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bmad.core.models import PhaseName, PhaseResult, PhaseStatus
from bmad.core.redact import redact_data
from bmad.ledger import chain
from bmad.ledger._db import make_engine
from bmad.ledger.hashing import chain_hash, plain
from bmad.ledger.records import check_data
from bmad.ledger.schema import ChainHeadRow, CheckResultRow, PhaseRunRow, ReleaseRow, RollbackRow
from tests.reports.reports_data import MIN, T0, Spec, phase_result

SERVICES = tuple(f"svc-{n:02d}" for n in range(10))
ENVIRONMENTS = ("dev", "staging", "prod")
BATCH = 500


@dataclass(frozen=True)
class Volume:
    """What :func:`fill_volume` wrote: the newest release's key and when the last one started."""

    releases: int
    newest: tuple[str, str, str]
    last_start: datetime


def volume_specs(releases: int) -> Iterator[Spec]:
    """``releases`` releases an hour apart over 10 services × 3 environments: every 7th rolled
    back, every 11th stopped at BUILD, the rest passed."""
    for i in range(releases):
        service, environment = SERVICES[i % len(SERVICES)], ENVIRONMENTS[(i // len(SERVICES)) % len(ENVIRONMENTS)]
        start, version = T0 + timedelta(hours=i), f"{i:040x}"
        if i % 11 == 10:
            yield Spec(version, start, (2, 0, 0, 0), stop_at=PhaseName.BUILD, service=service, environment=environment)
        elif i % 7 == 6:
            yield Spec(
                version,
                start,
                (3, 2, 1, 4),
                commit_before=timedelta(hours=1),
                deploy_ok=False,
                zero_downtime=False,
                rollback=(MIN, timedelta(seconds=30 + i % 60)),
                service=service,
                environment=environment,
            )
        else:
            yield Spec(
                version,
                start,
                (3, 2, 1, 4 + i % 5),
                commit_before=timedelta(hours=2),
                service=service,
                environment=environment,
            )


def fill_volume(url: str, releases: int) -> Volume:
    """Write ``releases`` releases (:func:`volume_specs`) into the migrated, empty ledger at ``url``."""
    engine = make_engine(url)
    try:
        specs = list(volume_specs(releases))
        for first in range(0, len(specs), BATCH):
            with Session(engine, expire_on_commit=False) as session, session.begin():
                head = session.get(ChainHeadRow, 1, with_for_update=True)
                if head is None:
                    head = ChainHeadRow(id=1, seq=0, hash="")
                    session.add(head)
                for spec in specs[first : first + BATCH]:
                    _add_release(session, head, spec)
    finally:
        engine.dispose()
    last = specs[-1]
    return Volume(releases, (last.service, last.environment, last.version), last.start)


def _add_release(session: Session, head: ChainHeadRow, spec: Spec) -> None:
    commit_time = spec.start - spec.commit_before if spec.commit_before is not None else None
    release = ReleaseRow(
        service=spec.service,
        environment=spec.environment,
        version=spec.version,
        dirty=False,
        commit_time=commit_time,
        created_at=spec.start,
    )
    session.add(release)
    at = spec.start
    for phase, minutes in zip(PhaseName.ordered(), spec.minutes, strict=True):
        end = at + minutes * MIN
        failed = spec.stop_at is phase or (phase is PhaseName.DEPLOY and not spec.deploy_ok)
        status = PhaseStatus.FAILED if failed else PhaseStatus.PASSED
        _add_run(session, head, release, phase_result(spec, phase, at, end, status))
        if phase is PhaseName.DEPLOY and spec.rollback is not None:
            _add_rollback(session, head, release, at + spec.rollback[0], spec.rollback[1])
        at = end
        if failed:
            break


def _add_run(session: Session, head: ChainHeadRow, release: ReleaseRow, result: PhaseResult) -> None:
    row = PhaseRunRow(
        phase=result.phase.value,
        attempt=1,
        status=result.status.value,
        started_at=result.started_at,
        finished_at=result.finished_at,
        metrics=plain(redact_data(result.metrics)),
        artifacts=plain(redact_data(result.artifacts)),
        message=result.message,
    )
    row.release = release
    for position, check in enumerate(result.checks):
        data = plain(redact_data(check_data(check)))
        row.checks.append(
            CheckResultRow(
                position=position,
                check_id=check.id,
                title=data["title"],
                status=check.status.value,
                duration_seconds=check.duration_seconds,
                data=data,
            )
        )
    session.add(row)
    _link(head, row)


def _add_rollback(
    session: Session, head: ChainHeadRow, release: ReleaseRow, detected: datetime, restore: timedelta | None
) -> None:
    row = RollbackRow(
        from_version=release.version,
        to_version="a" * 40,
        reason="post-deploy verification: error_ratio 0.5 above bound <= 0.05",
        detected_at=detected,
        recovered_at=detected + restore if restore is not None else None,
        mttr_seconds=restore.total_seconds() if restore is not None else None,
        manual=False,
    )
    row.release = release
    session.add(row)
    _link(head, row)


def _link(head: ChainHeadRow, row: PhaseRunRow | RollbackRow) -> None:
    """Append ``row`` to the chain after ``head``, as :func:`bmad.ledger.chain.link` does."""
    row.chain_seq = head.seq + 1
    row.prev_hash = head.hash
    row.hash = chain_hash(head.hash, chain.content(row))
    head.seq, head.hash = row.chain_seq, row.hash
