"""Writing a SQLite ledger with the standard library's ``sqlite3``: what a phase does, no SQLAlchemy.

On a SQLite ledger already at the code's schema revision, :class:`SqliteWriter` records releases,
phase runs (start, finish, interrupted) and rollbacks, and links them into the hash chain, with the
rows :mod:`bmad.ledger.runs` writes through the ORM: the same values, the same text for timestamps
(naive UTC, microseconds) and JSON (``json.dumps``), the same hashes and seals
(:mod:`bmad.ledger.content`). ``tests/ledger/test_sqlite_writer.py`` compares both paths' rows.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bmad.core.ci import Deployer
from bmad.core.datatypes import datatype
from bmad.core.errors import Unreachable
from bmad.core.models import CheckResult, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.core.redact import redact
from bmad.core.spans import Span, SpanKind
from bmad.ledger.content import describe_run, phase_content, phase_content_text, rollback_content, seal, sealed
from bmad.ledger.hashing import chain_hash, chain_hash_of_pieces
from bmad.ledger.lease import lease_stale, owner_host, owner_pid
from bmad.ledger.reader import connect, required_when, stored, when
from bmad.ledger.records import LedgerError, PhaseRunRecord, RollbackInput, RollbackRecord, check_data
from bmad.ledger.row_json import PlainArtifacts, row_object

log = logging.getLogger("bmad.ledger")

_RUN_COLUMNS = (
    "id, release_id, phase, attempt, status, started_at, finished_at, forced_reason, metrics, artifacts,"
    " message, evidence_dir, owner, pid, host, chain_seq, hash, actor, ci_run_url, ci_trigger"
)


@contextmanager
def write_transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction (``BEGIN IMMEDIATE``: writers queue on the lock), committed when the
    block ends, rolled back on any exception; the connection's pragmas are the ORM engine's."""
    try:
        with closing(connect(path)) as db:
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        raise Unreachable("ledger", "writing to the database", redact(str(exc))) from None


def _held_open(path: Path) -> sqlite3.Connection:
    """An idle connection (no transaction, no lock) that keeps the ledger file open while the writer lives.

    SQLite folds the write-ahead log back into the database file, with its fsyncs, whenever the last
    connection to it closes; every read and write has a connection of its own, so a phase did that
    about ten times. With this one open, the log is folded when the ledger is closed (or by SQLite's
    auto-checkpoint on a large log)."""
    keeper = connect(path)
    keeper.execute("PRAGMA schema_version").fetchone()  # a read maps the log's index: the file counts as open
    return keeper


@datatype(frozen=True)
class _ReleaseRow:
    id: int
    service: str
    environment: str
    version: str
    dirty: bool
    commit_time: datetime | None

    def release(self) -> Release:
        return Release(self.service, self.environment, self.version, dirty=self.dirty, commit_time=self.commit_time)


@datatype(frozen=True)
class _CheckRow:
    position: int
    check_id: str
    title: str
    status: str
    duration_seconds: float
    data: dict[str, Any]


@datatype(frozen=True)
class _RunRow:
    """A ``phase_runs`` row with its release and checks (:class:`~bmad.ledger.content.RunFields`)."""

    id: int
    release_id: int
    release: _ReleaseRow
    phase: str
    attempt: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    forced_reason: str | None
    metrics: dict[str, Any]
    artifacts: dict[str, Any]
    message: str
    evidence_dir: str | None
    owner: str | None
    pid: int | None
    host: str | None
    chain_seq: int | None
    hash: str | None
    actor: str | None
    ci_run_url: str | None
    ci_trigger: str | None
    checks: tuple[_CheckRow, ...]


@datatype(frozen=True)
class _RollbackRow:
    id: int
    release: _ReleaseRow
    from_version: str
    to_version: str | None
    reason: str
    detected_at: datetime
    recovered_at: datetime | None
    mttr_seconds: float | None
    manual: bool
    chain_seq: int | None = None
    hash: str | None = None


class SqliteWriter:
    """Releases, phase runs and rollbacks of one SQLite ledger file: every write but the locks'."""

    def __init__(self, path: Path, clock: Callable[[], datetime], *, signing_key: str | None = None) -> None:
        self._path = path
        self._clock = clock
        self._key = signing_key
        self._keeper = _held_open(path)

    def close(self) -> None:
        """Let go of the file (its write-ahead log is folded into it if no one else has it open)."""
        self._keeper.close()

    def ensure_release(self, release: Release, *, created_at: datetime | None = None) -> int:
        with write_transaction(self._path) as db:
            return self._release_id(db, release, created_at)

    def _release_id(self, db: sqlite3.Connection, release: Release, created_at: datetime | None) -> int:
        found = db.execute(
            "SELECT id FROM releases WHERE service = ? AND environment = ? AND version = ?",
            (release.service, release.environment, release.version),
        ).fetchone()
        if found is not None:
            return int(found[0])
        cursor = db.execute(
            "INSERT INTO releases (service, environment, version, dirty, commit_time, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                release.service,
                release.environment,
                release.version,
                release.dirty,
                _stored_or_none(release.commit_time),
                stored(created_at or self._clock()),
            ),
        )
        return _row_id(cursor)

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
        who = deployer or Deployer()
        with write_transaction(self._path) as db:
            release_id = self._release_id(db, release, None)
            (last,) = db.execute(
                "SELECT max(attempt) FROM phase_runs WHERE release_id = ? AND phase = ?", (release_id, phase.value)
            ).fetchone()
            cursor = db.execute(
                "INSERT INTO phase_runs (release_id, phase, attempt, status, started_at, forced_reason, metrics,"
                " artifacts, message, evidence_dir, owner, pid, host, actor, ci_run_url, ci_trigger)"
                " VALUES (?, ?, ?, ?, ?, ?, '{}', '{}', '', ?, ?, ?, ?, ?, ?, ?)",
                (
                    release_id,
                    phase.value,
                    (last or 0) + 1,
                    PhaseStatus.RUNNING.value,
                    stored(started_at or self._clock()),
                    redact(forced_reason) if forced_reason else None,
                    evidence_dir,
                    owner,
                    owner_pid(owner),
                    owner_host(owner),
                    redact(who.actor) if who.actor else None,
                    redact(who.run_url) if who.run_url else None,
                    redact(who.trigger) if who.trigger else None,
                ),
            )
            run = _load_run(db, _row_id(cursor))
            # only a sealed running row is ever chained as interrupted
            db.execute("UPDATE phase_runs SET hash = ? WHERE id = ?", (seal(run, self._key), run.id))
            return run.id

    def set_evidence_dir(self, run_id: int, evidence_dir: str) -> None:
        with write_transaction(self._path) as db:
            db.execute("UPDATE phase_runs SET evidence_dir = ? WHERE id = ?", (evidence_dir, run_id))

    def finish_phase(
        self,
        run_id: int,
        result: PhaseResult,
        *,
        evidence_dir: str | None,
        rollback: RollbackInput | None,
        texts: PlainArtifacts | None = None,
    ) -> PhaseRunRecord:
        if not result.status.finished:
            raise LedgerError(f"cannot finish a phase with status {result.status.value}")
        artifacts = texts if texts is not None else PlainArtifacts()
        with write_transaction(self._path) as db:
            row = self._filled(_running_row(db, run_id), result, evidence_dir, artifacts)
            _insert_checks(db, row, artifacts)
            spans = tuple(Span(s.kind, redact(s.label), s.start, s.end) for s in result.spans)
            _insert_spans(db, run_id, spans)
            row = _store_finished(db, row, artifacts)
            if rollback is not None:
                _add_rollback(db, row.release, rollback)
            return _run_record(row, spans)

    def _filled(
        self, row: _RunRow, result: PhaseResult, evidence_dir: str | None, artifacts: PlainArtifacts
    ) -> _RunRow:
        """A finished phase's outcome (redacted) in its row."""
        return replace(
            row,
            status=result.status.value,
            started_at=result.started_at if result.started_at is not None else row.started_at,
            finished_at=result.finished_at or self._clock(),
            forced_reason=redact(result.forced_reason) if result.forced_reason else row.forced_reason,
            metrics=artifacts.plain(result.metrics),
            artifacts=artifacts.of(result.artifacts),
            message=redact(result.message),
            evidence_dir=evidence_dir if evidence_dir is not None else row.evidence_dir,
            checks=tuple(_check_row(position, check, artifacts) for position, check in enumerate(result.checks)),
        )

    def detect_interrupted(self, service: str, environment: str) -> list[PhaseRunRecord]:
        now = self._clock()
        with write_transaction(self._path) as db:
            lock = db.execute(
                "SELECT owner, lease_until, host, pid FROM locks WHERE service = ? AND environment = ?",
                (service, environment),
            ).fetchone()
            live_owner = (
                lock[0] if lock is not None and not lease_stale(required_when(lock[1]), lock[2], lock[3], now) else None
            )
            running = db.execute(
                "SELECT phase_runs.id FROM phase_runs JOIN releases ON releases.id = phase_runs.release_id"
                " WHERE releases.service = ? AND releases.environment = ? AND phase_runs.status = ?"
                " ORDER BY phase_runs.id",
                (service, environment, PhaseStatus.RUNNING.value),
            ).fetchall()
            changed = []
            for (run_id,) in running:
                row = _load_run(db, run_id)
                if live_owner is not None and row.owner == live_owner:
                    continue
                if not sealed(row, self._key):
                    log.warning("%s: a running record bmad did not start; left unchained", describe_run(row))
                    continue
                changed.append(_link_run(db, _interrupted(db, row, now)))
            return [_run_record(row, _stored_spans(db, row.id)) for row in changed]

    def record_rollback(self, release: Release, rollback: RollbackInput) -> RollbackRecord:
        with write_transaction(self._path) as db:
            owner = _load_release(db, self._release_id(db, release, None))
            return _rollback_record(_add_rollback(db, owner, rollback))


def _row_id(cursor: sqlite3.Cursor) -> int:
    assert cursor.lastrowid is not None  # right after an INSERT
    return cursor.lastrowid


def _stored_or_none(value: datetime | None) -> str | None:
    return stored(value) if value is not None else None


def _load_release(db: sqlite3.Connection, release_id: int) -> _ReleaseRow:
    row = db.execute(
        "SELECT id, service, environment, version, dirty, commit_time FROM releases WHERE id = ?", (release_id,)
    ).fetchone()
    return _ReleaseRow(row[0], row[1], row[2], row[3], bool(row[4]), when(row[5]))


def _find_run(db: sqlite3.Connection, run_id: int) -> _RunRow | None:
    """A ``phase_runs`` row with its release and its checks (None when there is no such row)."""
    row = db.execute(f"SELECT {_RUN_COLUMNS} FROM phase_runs WHERE id = ?", (run_id,)).fetchone()  # noqa: S608
    if row is None:
        return None
    checks = tuple(
        _CheckRow(position, check_id, title, status, duration, json.loads(data))
        for position, check_id, title, status, duration, data in db.execute(
            "SELECT position, check_id, title, status, duration_seconds, data FROM check_results"
            " WHERE phase_run_id = ? ORDER BY position, id",
            (run_id,),
        )
    )
    return _RunRow(
        id=row[0],
        release_id=row[1],
        release=_load_release(db, row[1]),
        phase=row[2],
        attempt=row[3],
        status=row[4],
        started_at=required_when(row[5]),
        finished_at=when(row[6]),
        forced_reason=row[7],
        metrics=json.loads(row[8]),
        artifacts=json.loads(row[9]),
        message=row[10],
        evidence_dir=row[11],
        owner=row[12],
        pid=row[13],
        host=row[14],
        chain_seq=row[15],
        hash=row[16],
        actor=row[17],
        ci_run_url=row[18],
        ci_trigger=row[19],
        checks=checks,
    )


def _load_run(db: sqlite3.Connection, run_id: int) -> _RunRow:
    row = _find_run(db, run_id)
    assert row is not None  # a row this transaction has just seen
    return row


def _running_row(db: sqlite3.Connection, run_id: int) -> _RunRow:
    """The row of a phase run that is still running (the transaction holds the write lock)."""
    row = _find_run(db, run_id)
    if row is None:
        raise LedgerError(f"phase run {run_id} does not exist")
    if row.status != PhaseStatus.RUNNING.value:
        raise LedgerError(
            f"phase run {run_id} is {row.status}, not running: another process took over this release",
            hint="check 'bmad status'; the lock may have expired while this run was paused",
        )
    return row


def _interrupted(db: sqlite3.Connection, row: _RunRow, now: datetime) -> _RunRow:
    who = f"process {row.pid} on {row.host}" if row.pid else "the process that ran it"
    message = f"{who} stopped while the phase was running (found at {now.isoformat()})"
    db.execute(
        "UPDATE phase_runs SET status = ?, finished_at = ?, message = ? WHERE id = ?",
        (PhaseStatus.INTERRUPTED.value, stored(now), message, row.id),
    )
    return replace(row, status=PhaseStatus.INTERRUPTED.value, finished_at=now, message=message)


def _check_row(position: int, check: CheckResult, artifacts: PlainArtifacts) -> _CheckRow:
    fields = check_data(check)
    data = artifacts.plain({key: value for key, value in fields.items() if key != "artifacts"})
    data["artifacts"] = artifacts.of(fields["artifacts"])
    data = dict(sorted(data.items()))  # the key order of plain(): the stored text is json.dumps(data)
    return _CheckRow(position, check.id, data["title"], check.status.value, check.duration_seconds, data)


def _insert_checks(db: sqlite3.Connection, row: _RunRow, artifacts: PlainArtifacts) -> None:
    db.executemany(
        "INSERT INTO check_results (phase_run_id, position, check_id, title, status, duration_seconds, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (row.id, c.position, c.check_id, c.title, c.status, c.duration_seconds, _data_text(c.data, artifacts))
            for c in row.checks
        ],
    )


def _data_text(data: dict[str, Any], artifacts: PlainArtifacts) -> str:
    """``json.dumps(data)`` of a check row's data, its artifacts' texts made once."""
    return row_object(
        (key, artifacts.row_text(value) if key == "artifacts" else json.dumps(value)) for key, value in data.items()
    )


def _insert_spans(db: sqlite3.Connection, run_id: int, spans: Sequence[Span]) -> None:
    db.executemany(
        "INSERT INTO phase_spans (phase_run_id, position, kind, label, started_at, finished_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(run_id, p, s.kind.value, s.label, stored(s.start), stored(s.end)) for p, s in enumerate(spans)],
    )


def _stored_spans(db: sqlite3.Connection, run_id: int) -> tuple[Span, ...]:
    return tuple(
        Span(SpanKind(kind), label, required_when(started), required_when(finished))
        for kind, label, started, finished in db.execute(
            "SELECT kind, label, started_at, finished_at FROM phase_spans WHERE phase_run_id = ? ORDER BY position",
            (run_id,),
        )
    )


def _next_link(db: sqlite3.Connection) -> tuple[int, str]:
    """The sequence number and previous hash of the next record of the chain."""
    head = db.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
    return (int(head[0]) + 1, str(head[1])) if head is not None else (1, "")


def _store_link(db: sqlite3.Connection, table: str, row_id: int, seq: int, prev_hash: str, hashed: str) -> None:
    db.execute(
        f"UPDATE {table} SET chain_seq = ?, prev_hash = ?, hash = ? WHERE id = ?",  # noqa: S608 (a fixed table name)
        (seq, prev_hash, hashed, row_id),
    )
    _store_head(db, seq, hashed)


def _store_head(db: sqlite3.Connection, seq: int, hashed: str) -> None:
    db.execute(
        "INSERT INTO chain_head (id, seq, hash) VALUES (1, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        (seq, hashed),
    )


def _link_run(db: sqlite3.Connection, row: _RunRow) -> _RunRow:
    """Append a phase record to the chain (as :func:`bmad.ledger.chain.link`)."""
    seq, prev_hash = _next_link(db)
    row = replace(row, chain_seq=seq)
    row = replace(row, hash=chain_hash(prev_hash, phase_content(row)))
    assert row.hash is not None
    _store_link(db, "phase_runs", row.id, seq, prev_hash, row.hash)
    return row


def _store_finished(db: sqlite3.Connection, row: _RunRow, artifacts: PlainArtifacts) -> _RunRow:
    """Append a finished phase record to the chain and store its outcome and its link in one UPDATE:
    SQLite writes a row whole, so a large ANALYZE's megabyte of artifacts is written once, not twice.
    The hash's text is spliced from each artifact value's text, made once (``artifacts``)."""
    seq, prev_hash = _next_link(db)
    row = replace(row, chain_seq=seq)
    hashed = chain_hash_of_pieces(prev_hash, phase_content_text(row, artifacts.hash_text))
    db.execute(
        "UPDATE phase_runs SET status = ?, started_at = ?, finished_at = ?, forced_reason = ?, metrics = ?,"
        " artifacts = ?, message = ?, evidence_dir = ?, chain_seq = ?, prev_hash = ?, hash = ? WHERE id = ?",
        (
            row.status,
            stored(row.started_at),
            _stored_or_none(row.finished_at),
            row.forced_reason,
            json.dumps(row.metrics),
            artifacts.row_text(row.artifacts),
            row.message,
            row.evidence_dir,
            seq,
            prev_hash,
            hashed,
            row.id,
        ),
    )
    _store_head(db, seq, hashed)
    return replace(row, hash=hashed)


def _add_rollback(db: sqlite3.Connection, release: _ReleaseRow, rollback: RollbackInput) -> _RollbackRow:
    mttr = None
    if rollback.recovered_at is not None:
        mttr = (rollback.recovered_at - rollback.detected_at).total_seconds()
    values = (release.version, rollback.to_version, redact(rollback.reason), rollback.detected_at)
    cursor = db.execute(
        "INSERT INTO rollbacks (release_id, from_version, to_version, reason, detected_at, recovered_at,"
        " mttr_seconds, manual) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (release.id, *values[:3], stored(values[3]), _stored_or_none(rollback.recovered_at), mttr, rollback.manual),
    )
    row = _RollbackRow(_row_id(cursor), release, *values, rollback.recovered_at, mttr, rollback.manual)
    seq, prev_hash = _next_link(db)
    row = replace(row, chain_seq=seq)
    hashed = chain_hash(prev_hash, rollback_content(row))
    _store_link(db, "rollbacks", row.id, seq, prev_hash, hashed)
    return replace(row, hash=hashed)


def _run_record(row: _RunRow, spans: tuple[Span, ...]) -> PhaseRunRecord:
    return PhaseRunRecord(
        id=row.id,
        release=row.release.release(),
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
        checks=tuple(CheckResult.from_dict(c.data) for c in row.checks),
        owner=row.owner,
        pid=row.pid,
        host=row.host,
        chain_seq=row.chain_seq,
        hash=row.hash,
        spans=spans,
        deployer=Deployer(actor=row.actor, run_url=row.ci_run_url, trigger=row.ci_trigger),
    )


def _rollback_record(row: _RollbackRow) -> RollbackRecord:
    return RollbackRecord(
        id=row.id,
        release=row.release.release(),
        from_version=row.from_version,
        to_version=row.to_version,
        reason=row.reason,
        detected_at=row.detected_at,
        recovered_at=row.recovered_at,
        mttr_seconds=row.mttr_seconds,
        manual=row.manual,
    )
