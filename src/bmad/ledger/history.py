"""Reading the ledger: releases with every phase attempt and rollback, newest first."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, text, union
from sqlalchemy.orm import Session, defer, lazyload, selectinload, undefer

from bmad.core.models import PhaseName, PhaseStatus, Release
from bmad.ledger.reader import CHANGE_STAMP_SQL, ChangeMarks
from bmad.ledger.records import (
    ChecksOf,
    PhaseRunRecord,
    ReleaseHistory,
    bare_phases,
    checked_phases,
    latest_only,
    latest_run_ids,
)
from bmad.ledger.row_records import release_history, run_record
from bmad.ledger.schema import PhaseRunRow, ReleaseRow, RollbackRow
from bmad.ledger.transactions import Database


def find_release(session: Session, release: Release) -> ReleaseRow | None:
    return session.scalars(
        select(ReleaseRow).where(
            ReleaseRow.service == release.service,
            ReleaseRow.environment == release.environment,
            ReleaseRow.version == release.version,
        )
    ).first()


def _history_query(with_checks: ChecksOf) -> Any:
    runs = selectinload(ReleaseRow.runs)
    if latest_only(with_checks):
        # which attempt is each phase's latest is known once the runs are loaded: their metrics,
        # artifacts and checks are left to load on access, which only a latest attempt's get
        run_options = runs.options(
            defer(PhaseRunRow.metrics), defer(PhaseRunRow.artifacts), lazyload(PhaseRunRow.checks)
        )
    elif checked_phases(with_checks):
        run_options = runs.selectinload(PhaseRunRow.checks)
    else:
        run_options = runs.raiseload(PhaseRunRow.checks)
    return select(ReleaseRow).options(
        run_options,
        selectinload(ReleaseRow.runs).selectinload(PhaseRunRow.spans),
        selectinload(ReleaseRow.rollbacks),
    )


# ids in one IN list of the batched loads below: well under PostgreSQL's 65,535 bound parameters
_IDS_A_QUERY = 1_000


def _load_latest(session: Session, rows: Sequence[ReleaseRow], with_checks: ChecksOf) -> None:
    """What a latest-attempts read shows of the latest attempts of ``rows``, loaded for all of them at
    once: their metrics and artifacts (deferred by :func:`_history_query`) and, for the phases whose
    checks it asks for, their checks. Loaded on access they were up to three queries an attempt (244
    for 20 releases of four phases; every phase's figures read DEPLOY's of every release), each a
    round trip to the PostgreSQL server. The rows are in the session's identity map: these queries
    fill in what they lack (SQLAlchemy loads an unloaded attribute of an object it meets again)."""
    if not latest_only(with_checks):
        return
    bare = {phase.value for phase in bare_phases(with_checks)}
    checked = {phase.value for phase in checked_phases(with_checks)}
    without_checks: list[int] = []
    with_their_checks: list[int] = []
    for row in rows:
        latest = latest_run_ids((run.id, run.phase, run.started_at) for run in row.runs)
        for run in row.runs:
            if run.id in latest and run.phase not in bare:
                (with_their_checks if run.phase in checked else without_checks).append(run.id)
    for ids, checks in (
        (without_checks, lazyload(PhaseRunRow.checks)),
        (with_their_checks, selectinload(PhaseRunRow.checks)),
    ):
        for start in range(0, len(ids), _IDS_A_QUERY):
            session.scalars(
                select(PhaseRunRow)
                .where(PhaseRunRow.id.in_(ids[start : start + _IDS_A_QUERY]))
                .options(undefer(PhaseRunRow.metrics), undefer(PhaseRunRow.artifacts), checks)
            ).all()


class HistoryQueries:
    """Releases, phase runs and the latest results, as plain records."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def change_stamp(self) -> str:
        with self._db.tx() as session:
            row = session.execute(text(CHANGE_STAMP_SQL)).one()
        return "/".join(str(value) for value in row)

    def wal_position(self) -> str:
        """PostgreSQL's write-ahead log position: it moves with every write to the server."""
        with self._db.tx() as session:
            return str(session.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one())

    def get_release(
        self,
        service: str,
        environment: str,
        version: str,
        *,
        with_checks: ChecksOf = True,
        shadowed_artifacts: bool = True,
    ) -> ReleaseHistory | None:
        """As :meth:`bmad.ledger.store.Ledger.get_release`."""
        with self._db.tx() as session:
            row = session.scalars(
                _history_query(with_checks).where(
                    ReleaseRow.service == service,
                    ReleaseRow.environment == environment,
                    ReleaseRow.version == version,
                )
            ).first()
            if row is None:
                return None
            _load_latest(session, [row], with_checks)
            return release_history(row, with_checks=with_checks, shadowed_artifacts=shadowed_artifacts)

    def list_releases(
        self,
        *,
        service: str | None = None,
        environment: str | None = None,
        limit: int | None = None,
        before: datetime | None = None,
        with_checks: ChecksOf = True,
    ) -> list[ReleaseHistory]:
        query = _history_query(with_checks)
        if service is not None:
            query = query.where(ReleaseRow.service == service)
        if environment is not None:
            query = query.where(ReleaseRow.environment == environment)
        if before is not None:
            query = query.where(ReleaseRow.created_at < before)
        query = query.order_by(ReleaseRow.created_at.desc(), ReleaseRow.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._db.tx() as session:
            rows = session.scalars(query).all()
            _load_latest(session, rows, with_checks)
            return [release_history(row, with_checks=with_checks) for row in rows]

    def releases_changed_since(
        self, marks: ChangeMarks, also: Collection[int] = (), *, with_checks: ChecksOf = True
    ) -> list[ReleaseHistory]:
        """As :meth:`bmad.ledger.store.Ledger.releases_changed_since`."""
        touched = union(
            select(ReleaseRow.id).where(ReleaseRow.id > marks.release_id),
            select(PhaseRunRow.release_id).where(
                or_(PhaseRunRow.id > marks.run_id, PhaseRunRow.status == PhaseStatus.RUNNING.value)
            ),
            select(RollbackRow.release_id).where(RollbackRow.id > marks.rollback_id),
        )
        query = _history_query(with_checks).where(or_(ReleaseRow.id.in_(touched), ReleaseRow.id.in_(list(also))))
        query = query.order_by(ReleaseRow.created_at.desc(), ReleaseRow.id.desc())
        with self._db.tx() as session:
            rows = session.scalars(query).all()
            _load_latest(session, rows, with_checks)
            return [release_history(row, with_checks=with_checks) for row in rows]

    def next_attempt(self, release: Release, phase: PhaseName) -> int:
        with self._db.tx() as session:
            row = find_release(session, release)
            if row is None:
                return 1
            attempts = session.scalars(
                select(PhaseRunRow.attempt).where(PhaseRunRow.release_id == row.id, PhaseRunRow.phase == phase.value)
            ).all()
            return max(attempts, default=0) + 1

    def phase_run(self, run_id: int) -> PhaseRunRecord | None:
        with self._db.tx() as session:
            row = session.get(PhaseRunRow, run_id)
            return run_record(row) if row is not None else None
