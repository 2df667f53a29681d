"""The tamper-evident hash chain over finished phase runs and rollbacks, and its verification.

Each chained record's hash covers its canonical content and the previous record's hash; the
``chain_head`` row remembers the newest link, so deleting the last record is noticed too.
What the database alone cannot show (truncation, re-chaining) is found through the anchors of
:mod:`bmad.ledger.anchors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bmad.core.models import PhaseStatus
from bmad.ledger.anchors import ChainAnchor, check_anchors
from bmad.ledger.content import describe_run, phase_content, rollback_content, sealed
from bmad.ledger.hashing import chain_hash
from bmad.ledger.records import VerifyReport
from bmad.ledger.schema import ChainHeadRow, PhaseRunRow, ReleaseRow, RollbackRow
from bmad.ledger.transactions import Database

ChainedRow = PhaseRunRow | RollbackRow


def link(session: Session, row: ChainedRow) -> None:
    """Append ``row`` to the chain: its sequence number, the previous hash and its own hash."""
    head = session.get(ChainHeadRow, 1, with_for_update=True)
    if head is None:
        head = ChainHeadRow(id=1, seq=0, hash="")
        session.add(head)
    row.chain_seq = head.seq + 1
    row.prev_hash = head.hash
    row.hash = chain_hash(head.hash, content(row))
    head.seq = row.chain_seq
    head.hash = row.hash


def verify(db: Database, anchors: Sequence[ChainAnchor] = (), *, key: str | None = None) -> VerifyReport:
    """Recompute the hash chain and compare it with ``anchors``; name every record that was
    edited, deleted or forged (``key``: the signing key, when configured)."""
    report = VerifyReport()
    with db.tx() as session:
        head = session.get(ChainHeadRow, 1)
        chained = _chained_rows(session, report, key)
        _walk(chained, head, report)
        check_anchors(session, anchors, report, key=key)
    return report


def _chained_rows(session: Session, report: VerifyReport, key: str | None) -> dict[int, ChainedRow]:
    """Every chained record by sequence number; records whose release is gone, or that should be
    chained and are not, go to ``report`` instead."""
    runs = session.scalars(
        select(PhaseRunRow).options(selectinload(PhaseRunRow.checks), selectinload(PhaseRunRow.release))
    ).all()
    rollbacks = session.scalars(select(RollbackRow).options(selectinload(RollbackRow.release))).all()
    releases = {row.id for row in session.scalars(select(ReleaseRow)).all()}
    chained: dict[int, ChainedRow] = {}
    for run in runs:
        if run.release_id not in releases:
            report.problems.append(f"{describe(run)}: its release row {run.release_id} was deleted")
            continue
        if run.chain_seq is None:
            if run.status != PhaseStatus.RUNNING.value:
                report.problems.append(f"{describe(run)}: status {run.status} but the record is not chained")
            elif not sealed(run, key):
                report.problems.append(f"{describe(run)}: a running record bmad did not start (forged or edited)")
            continue
        chained[run.chain_seq] = run
    for rollback in rollbacks:
        if rollback.release_id not in releases:
            report.problems.append(f"{describe(rollback)}: its release row {rollback.release_id} was deleted")
            continue
        if rollback.chain_seq is not None:
            chained[rollback.chain_seq] = rollback
    return chained


def _walk(chained: dict[int, ChainedRow], head: ChainHeadRow | None, report: VerifyReport) -> None:
    """Follow the chain from #1 to the head, checking every link and every hash."""
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
            report.problems.append(f"{describe(row)}: chained but marked running (edited)")
        if previous_hash and row.prev_hash != previous_hash:
            report.problems.append(
                f"{describe(row)}: does not follow record #{seq - 1} (its link was edited or a record replaced)"
            )
        expected = chain_hash(row.prev_hash or "", content(row))
        if expected != row.hash:
            report.problems.append(f"{describe(row)}: content does not match its hash (edited)")
        previous_hash = row.hash or ""
    if head_seq and _hash_at(chained, head_seq) != (head.hash if head else ""):
        report.problems.append(f"chain head (#{head_seq}) does not match the newest record (edited or deleted)")
    if chained and max(chained) > head_seq:
        report.problems.append(f"records after the chain head #{head_seq} (chain head edited)")


def _hash_at(chained: dict[int, ChainedRow], seq: int) -> str | None:
    row = chained.get(seq)
    return row.hash if row is not None else None


def describe(row: ChainedRow) -> str:
    if isinstance(row, PhaseRunRow):
        return describe_run(row)
    seq = f", chain #{row.chain_seq}" if row.chain_seq is not None else ""
    return f"rollbacks id {row.id} ({row.from_version[:12]} -> {(row.to_version or '?')[:12]}{seq})"


def content(row: ChainedRow) -> dict[str, Any]:
    """What a record's hash covers."""
    if isinstance(row, PhaseRunRow):
        return phase_content(row)
    return rollback_content(row)
