"""Anchors of the hash chain outside the database, and the seal of rows bmad itself started.

* An :class:`ChainAnchor` is a chain hash that left the database: every phase record committed to
  the records branch carries the ``ledger_hash`` of its row. :func:`check_anchors` compares them
  with the ledger, so truncating the chain (newest rows deleted and the chain head moved back, or
  the whole ledger emptied) and re-chaining (a row edited and every later hash recomputed) are
  reported, as long as the branch was not rewritten as well.
* With ``ledger.signing_key`` the anchors are signed (HMAC-SHA256 of the hash), so rewriting the
  branch needs the key too.
* A ``running`` row is sealed when bmad starts it (:func:`~bmad.ledger.content.seal`): a forged or edited running row is
  never chained as ``interrupted`` (:func:`~bmad.ledger.content.sealed`), and verification names it.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bmad.core.datatypes import datatype
from bmad.ledger.content import sign
from bmad.ledger.records import VerifyReport
from bmad.ledger.schema import PhaseRunRow


@datatype(frozen=True)
class ChainAnchor:
    """The chain hash one phase record committed outside the database, and where it was read."""

    service: str
    environment: str
    version: str
    phase: str
    attempt: int
    hash: str
    source: str  # e.g. "bmad/records@1a2b3c4d:records/hello/dev/<version>/build.yaml"
    signature: str | None = None

    @property
    def describe(self) -> str:
        return f"{self.service}/{self.environment} {self.version[:12]} {self.phase} attempt {self.attempt}"


def check_anchors(session: Session, anchors: Sequence[ChainAnchor], report: VerifyReport, *, key: str | None) -> None:
    """Report every anchor the ledger no longer holds (truncated, emptied) or holds changed (re-chained)."""
    rows = session.scalars(select(PhaseRunRow).options(selectinload(PhaseRunRow.release))).all()
    by_hash = {row.hash: row for row in rows if row.chain_seq is not None}
    by_identity = {_identity_of(row): row for row in rows if row.release is not None}
    seen: set[str] = set()
    for anchor in anchors:
        if anchor.hash in seen:
            continue
        seen.add(anchor.hash)
        report.anchors += 1
        _check_signature(anchor, report, key)
        if anchor.hash in by_hash:
            continue
        row = by_identity.get((anchor.service, anchor.environment, anchor.version, anchor.phase, anchor.attempt))
        if row is not None:
            report.problems.append(
                f"{anchor.describe}: the ledger's row (phase_runs id {row.id}) has hash {(row.hash or '-')[:16]}, "
                f"the record at {anchor.source} says {anchor.hash[:16]} (edited and re-chained)"
            )
        else:
            report.problems.append(
                f"{anchor.describe}: the record at {anchor.source} has no row in the ledger "
                f"(chain hash {anchor.hash[:16]}; records deleted, chain truncated or ledger emptied)"
            )


def _check_signature(anchor: ChainAnchor, report: VerifyReport, key: str | None) -> None:
    if key is None:
        return
    if anchor.signature is None:
        report.problems.append(f"{anchor.describe}: the record at {anchor.source} is not signed")
    elif not hmac.compare_digest(anchor.signature, sign(key, anchor.hash)):
        report.problems.append(f"{anchor.describe}: the record at {anchor.source} has a wrong signature (forged)")


def _identity_of(row: PhaseRunRow) -> tuple[str, str, str, str, int]:
    release = row.release
    return (release.service, release.environment, release.version, row.phase, row.attempt)
