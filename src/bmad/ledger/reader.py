"""Reading a SQLite ledger with the standard library's ``sqlite3``: no SQLAlchemy import.

``bmad status``, ``history`` and ``metrics`` only read; on a SQLite ledger whose stored schema
revision is the code's, :class:`SqliteReader` answers them with a few plain queries and builds the
same records as :mod:`bmad.ledger.row_records`. Anything else (PostgreSQL, a missing file, another
revision, a file that is not a ledger) goes through SQLAlchemy (see :mod:`bmad.ledger.store`).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from bmad.core.ci import Deployer
from bmad.core.datatypes import datatype
from bmad.core.errors import Unreachable
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.core.redact import redact
from bmad.core.spans import Span, SpanKind
from bmad.ledger.records import (
    LEAN_CHECK_OMITS,
    ChecksOf,
    LockInfo,
    PhaseRunRecord,
    ReleaseHistory,
    ReleaseOutline,
    RollbackRecord,
    bare_phases,
    checked_phases,
    earlier_outlined,
    latest_only,
    latest_run_ids,
    names_beyond,
)

HEAD_REVISION = "0004"  # the newest Alembic revision under migrations/versions
# Rows added or removed (ids, counts) and the chain head: what changes when anything is recorded.
CHANGE_STAMP_SQL = (
    "SELECT (SELECT max(id) FROM releases), (SELECT count(*) FROM releases), (SELECT max(id) FROM phase_runs),"
    " (SELECT count(*) FROM phase_runs), (SELECT max(id) FROM rollbacks), (SELECT count(*) FROM rollbacks),"
    " (SELECT max(seq) FROM chain_head), (SELECT max(hash) FROM chain_head)"
)
_BUSY_MS = 60_000
# Pages read through a memory map of the file: a connection's first read of a table then costs no read()
# per page (a read command opens several short connections; each would otherwise fill its cache again).
_MMAP_BYTES = 256 * 1024 * 1024
# The ids a query is about travel as one JSON array parameter (no limit on their number).
_RUNS_OF = (
    "SELECT id, release_id, phase, attempt, status, started_at, finished_at, forced_reason, metrics, artifacts,"
    " message, evidence_dir, owner, pid, host, chain_seq, hash, actor, ci_run_url, ci_trigger"
    " FROM phase_runs WHERE release_id IN (SELECT value FROM json_each(?))"
)
# Every run of the releases ?1, the metrics and artifacts of the runs ?2 only (the others are outlines
# or bare: their text, a megabyte for an ANALYZE of a thousand objects, is not even copied out of SQLite).
_RUNS_OUTLINED_OF = _RUNS_OF.replace(
    "metrics, artifacts,",
    "CASE WHEN id IN (SELECT value FROM json_each(?2)) THEN metrics END,"
    " CASE WHEN id IN (SELECT value FROM json_each(?2)) THEN artifacts END,",
).replace("json_each(?))", "json_each(?1))")
# The runs ?1, the metrics and artifacts of the runs ?2 only.
_RUNS_BY_ID = _RUNS_OUTLINED_OF.replace("WHERE release_id IN", "WHERE id IN")
_RUN_STARTS_OF = (
    "SELECT id, release_id, phase, started_at FROM phase_runs WHERE release_id IN (SELECT value FROM json_each(?))"
)
# What an outline keeps of each run (metrics and artifacts of the detailed phases ?2 only); in start
# order, so the last run of a phase seen is its latest.
_OUTLINE_RUNS_OF = (
    "SELECT id, release_id, phase, status, started_at, finished_at,"
    " CASE WHEN phase IN (SELECT value FROM json_each(?2)) THEN metrics END,"
    " CASE WHEN phase IN (SELECT value FROM json_each(?2)) THEN artifacts END"
    " FROM phase_runs WHERE release_id IN (SELECT value FROM json_each(?1)) ORDER BY started_at, id"
)
_ROLLBACKS_OF = (
    "SELECT id, release_id, from_version, to_version, reason, detected_at, recovered_at, mttr_seconds, manual"
    " FROM rollbacks WHERE release_id IN (SELECT value FROM json_each(?)) ORDER BY id"
)
_CHECKS_OF = (
    "SELECT phase_run_id, {data} FROM check_results"
    " WHERE phase_run_id IN (SELECT value FROM json_each(?)) ORDER BY position, id"
)
# A check as an outline keeps it (records.lean_check): SQLite drops the other fields from the text
# (https://sqlite.org/json1.html#jrm), so a DEPLOY's kilobytes of evidence are never decoded.
_LEAN_CHECK_DATA = "json_remove(data" + "".join(f", '$.{name}'" for name in LEAN_CHECK_OMITS) + ")"
# A run's checks, in order, their data column given as ``{data}`` (see _checks_beside_run).
_CHECKS_OF_RUN = "SELECT {data} FROM check_results WHERE phase_run_id = ? ORDER BY position, id"
# The most artifact names one json_remove() drops (SQLite allows 127 arguments to a function).
_MOST_REMOVED = 100
_SPANS_OF = (
    "SELECT phase_run_id, kind, label, started_at, finished_at FROM phase_spans"
    " WHERE phase_run_id IN (SELECT value FROM json_each(?)) ORDER BY position, id"
)
# Stored values to members by a dict look-up (calling the enum is a Python-level call per row).
_PHASE_OF = {phase.value: phase for phase in PhaseName}
_PHASE_STATUS_OF = {status.value: status for status in PhaseStatus}
_CHECK_FIELDS = frozenset(f.name for f in fields(CheckResult))
# The releases touched since some marks: new releases, phase runs or rollbacks, runs still running, ids given.
_CHANGED_RELEASES = (
    "SELECT id, service, environment, version, dirty, commit_time, created_at FROM releases WHERE id IN ("
    "SELECT id FROM releases WHERE id > ? UNION SELECT release_id FROM phase_runs WHERE id > ? OR status = ?"
    " UNION SELECT release_id FROM rollbacks WHERE id > ? UNION SELECT value FROM json_each(?))"
    " ORDER BY created_at DESC, id DESC"
)


@datatype(frozen=True)
class ChangeMarks:
    """The newest release, phase run and rollback ids a reader has seen (0: none yet)."""

    release_id: int = 0
    run_id: int = 0
    rollback_id: int = 0


def stamp_counts(stamp: str) -> tuple[int, int, int]:
    """The numbers of releases, phase runs and rollbacks that a change stamp counted."""
    parts = stamp.split("/")
    return int(parts[1]), int(parts[3]), int(parts[5])


def file_marker(path: Path) -> str:
    """The size and modification time of a SQLite file and of its write-ahead log: any write moves them."""
    parts = []
    for file in (path, path.with_name(path.name + "-wal")):
        try:
            stat = file.stat()
        except FileNotFoundError:
            parts.append("-")
        else:
            parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    return "/".join(parts)


def sqlite_file(url: str) -> Path | None:
    """The database file of a plain ``sqlite:///PATH`` URL (None for anything else)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = unquote(url[len(prefix) :])
    return Path(path) if path and path != ":memory:" else None


def stored_revision(path: Path) -> str | None:
    """The schema revision stored in the SQLite file, None when it has none or cannot be read."""
    if not path.is_file():
        return None
    try:
        with closing(connect(path)) as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'").fetchone():
                row = db.execute("SELECT version_num FROM alembic_version").fetchone()
                return str(row[0]) if row else None
    except sqlite3.Error:
        return None
    return None


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=_BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
    db.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
    return db


def when(text: str | None) -> datetime | None:
    """A stored UTC timestamp (SQLite keeps naive text) as an aware datetime."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stored(value: datetime) -> str:
    """A datetime as SQLite holds it (naive UTC text, microseconds), for comparisons in SQL."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def json_values(texts: Sequence[str | None]) -> list[Any]:
    """The stored JSON texts decoded in one call of the decoder (NULL as None), not one call per text."""
    if not texts:
        return []
    values = json.loads("[" + ",".join("null" if text is None else text for text in texts) + "]")
    if len(values) != len(texts):  # a text that is not one JSON value (edited by hand): one at a time
        return [None if text is None else json.loads(text) for text in texts]
    return list(values)


class SqliteReader:
    """Read-only queries on one SQLite ledger file, each in its own read transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction; a database error is the ledger being unreachable, as on the ORM path."""
        try:
            with closing(connect(self.path)) as db:
                db.execute("BEGIN")
                try:
                    yield db
                finally:
                    db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise Unreachable("ledger", "reading the database", redact(str(exc))) from None

    def list_releases(
        self,
        *,
        service: str | None = None,
        environment: str | None = None,
        limit: int | None = None,
        before: datetime | None = None,
        version: str | None = None,
        with_checks: ChecksOf = True,
        shadowed_artifacts: bool = True,
    ) -> list[ReleaseHistory]:
        """As :meth:`bmad.ledger.store.Ledger.list_releases` (``version`` picks one release;
        ``shadowed_artifacts``: see :meth:`bmad.ledger.store.Ledger.get_release`)."""
        sql, params = _releases_sql(service=service, environment=environment, version=version, before=before)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._read() as db:
            rows = db.execute(sql, params).fetchall()
            return _histories(db, rows, with_checks=with_checks, shadowed_artifacts=shadowed_artifacts)

    def release_outlines(
        self, *, service: str | None = None, environment: str | None = None, details: Collection[PhaseName] = ()
    ) -> list[ReleaseOutline]:
        """As :meth:`bmad.ledger.store.Ledger.release_outlines`."""
        sql, params = _releases_sql(service=service, environment=environment)
        with self._read() as db:
            return _outlines(db, db.execute(sql, params).fetchall(), frozenset(details))

    def releases_changed_since(
        self, marks: ChangeMarks, also: Collection[int] = (), *, with_checks: ChecksOf = True
    ) -> list[ReleaseHistory]:
        """As :meth:`bmad.ledger.store.Ledger.releases_changed_since`."""
        params = (marks.release_id, marks.run_id, PhaseStatus.RUNNING.value, marks.rollback_id, json.dumps(list(also)))
        with self._read() as db:
            return _histories(db, db.execute(_CHANGED_RELEASES, params).fetchall(), with_checks=with_checks)

    def get_release(
        self,
        service: str,
        environment: str,
        version: str,
        *,
        with_checks: ChecksOf = True,
        shadowed_artifacts: bool = True,
    ) -> ReleaseHistory | None:
        found = self.list_releases(
            service=service,
            environment=environment,
            version=version,
            limit=1,
            with_checks=with_checks,
            shadowed_artifacts=shadowed_artifacts,
        )
        return found[0] if found else None

    def lock_info(self, service: str, environment: str) -> LockInfo | None:
        with self._read() as db:
            row = db.execute(
                "SELECT service, environment, owner, pid, host, acquired_at, lease_until, heartbeat_at"
                " FROM locks WHERE service = ? AND environment = ?",
                (service, environment),
            ).fetchone()
        if row is None:
            return None
        return LockInfo(
            service=row[0],
            environment=row[1],
            owner=row[2],
            pid=row[3],
            host=row[4],
            acquired_at=required_when(row[5]),
            lease_until=required_when(row[6]),
            heartbeat_at=required_when(row[7]),
        )

    def change_stamp(self) -> str:
        """As :meth:`bmad.ledger.store.Ledger.change_stamp`."""
        with self._read() as db:
            row = db.execute(CHANGE_STAMP_SQL).fetchone()
        return "/".join(str(value) for value in row)

    def next_attempt(self, release: Release, phase: PhaseName) -> int:
        """The attempt number the next run of ``phase`` of ``release`` gets."""
        with self._read() as db:
            (last,) = db.execute(
                "SELECT max(attempt) FROM phase_runs JOIN releases ON releases.id = phase_runs.release_id"
                " WHERE releases.service = ? AND releases.environment = ? AND releases.version = ?"
                " AND phase_runs.phase = ?",
                (release.service, release.environment, release.version, phase.value),
            ).fetchone()
        return int(last or 0) + 1

    def running_runs(self, service: str, environment: str) -> int:
        """How many phase runs of (service, environment) are marked running."""
        with self._read() as db:
            row = db.execute(
                "SELECT count(*) FROM phase_runs JOIN releases ON releases.id = phase_runs.release_id"
                " WHERE releases.service = ? AND releases.environment = ? AND phase_runs.status = ?",
                (service, environment, PhaseStatus.RUNNING.value),
            ).fetchone()
        return int(row[0])


def _releases_sql(
    *,
    service: str | None = None,
    environment: str | None = None,
    version: str | None = None,
    before: datetime | None = None,
) -> tuple[str, list[Any]]:
    """The releases query (newest first) and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("service", service), ("environment", environment), ("version", version)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if before is not None:
        where.append("created_at < ?")
        params.append(stored(before))
    sql = "SELECT id, service, environment, version, dirty, commit_time, created_at FROM releases"
    sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY created_at DESC, id DESC"
    return sql, params


def required_when(text: str) -> datetime:
    value = when(text)
    if value is None:
        raise ValueError("a NOT NULL timestamp of the ledger is NULL")
    return value


def _histories(
    db: sqlite3.Connection, rows: list[Any], *, with_checks: ChecksOf, shadowed_artifacts: bool = True
) -> list[ReleaseHistory]:
    """The releases of ``rows`` with their runs (and the checks that ``with_checks`` asks for, with or
    without the artifacts their runs also hold: ``shadowed_artifacts``) and rollbacks, in ``rows``' order."""
    if not rows:
        return []
    releases = _releases(rows)
    ids = json.dumps(list(releases))
    outlined: set[int] = set()
    bare = {phase.value for phase in bare_phases(with_checks)}
    if latest_only(with_checks):
        latest = _latest_runs(db, ids)
        dressed_ids = json.dumps([run_id for run_id, phase in latest.items() if phase not in bare])
        if earlier_outlined(with_checks):
            runs = db.execute(_RUNS_OUTLINED_OF, (ids, dressed_ids)).fetchall()
            outlined = {run[0] for run in runs} - set(latest)
        else:
            runs = db.execute(_RUNS_BY_ID, (json.dumps(sorted(latest)), dressed_ids)).fetchall()
    else:
        runs = db.execute(_RUNS_OF, (ids,)).fetchall()
    dressed = [run for run in runs if run[2] not in bare and run[0] not in outlined]
    decoded = json_values([text for run in dressed for text in (run[8], run[9])])  # metrics, artifacts of each run
    figures = {run[0]: (decoded[2 * i] or {}, decoded[2 * i + 1] or {}) for i, run in enumerate(dressed)}
    figures.update({run[0]: ({}, {}) for run in runs if run[2] in bare or run[0] in outlined})
    phases = {phase.value for phase in checked_phases(with_checks)}
    checked = [run[0] for run in runs if run[2] in phases and run[0] not in outlined]
    if shadowed_artifacts:
        checks = _checks(db, checked)
    else:
        checks = _checks_beside_runs(db, checked, {run_id: artifacts for run_id, (_, artifacts) in figures.items()})
    spans = _spans(db, [run[0] for run in runs])
    runs_of: dict[int, list[PhaseRunRecord]] = defaultdict(list)
    for run in runs:
        metrics, artifacts = figures[run[0]]
        record = _run(
            run, releases[run[1]], checks.get(run[0], ()), spans.get(run[0], ()), metrics, artifacts, run[0] in outlined
        )
        runs_of[run[1]].append(record)
    rollbacks_of = _rollbacks(db, ids, releases)
    return [
        ReleaseHistory(
            id=row[0],
            release=releases[row[0]],
            created_at=required_when(row[6]),
            runs=sorted(runs_of[row[0]], key=lambda r: (r.started_at, r.id)),
            rollbacks=rollbacks_of[row[0]],
        )
        for row in rows
    ]


def _latest_runs(db: sqlite3.Connection, ids: str) -> dict[int, str]:
    """The latest run of each (release, phase) of the releases ``ids``: its id and its phase."""
    rows = db.execute(_RUN_STARTS_OF, (ids,)).fetchall()
    latest = latest_run_ids(
        (run_id, (release_id, phase), required_when(started)) for run_id, release_id, phase, started in rows
    )
    return {run_id: phase for run_id, _, phase, _ in rows if run_id in latest}


def _outlines(db: sqlite3.Connection, rows: list[Any], details: frozenset[PhaseName]) -> list[ReleaseOutline]:
    """The releases of ``rows`` as outlines (see :class:`ReleaseOutline`), in ``rows``' order."""
    if not rows:
        return []
    releases = _releases(rows)
    ids = json.dumps(list(releases))
    wanted = sorted(phase.value for phase in details)
    latest: dict[tuple[int, str], Any] = {}
    for run in db.execute(_OUTLINE_RUNS_OF, (ids, json.dumps(wanted))):
        latest[(run[1], run[2])] = run
    detailed = [run for run in latest.values() if run[2] in wanted]
    decoded = json_values([text for run in detailed for text in (run[6], run[7])])
    figures = {run[0]: (decoded[2 * i] or {}, decoded[2 * i + 1] or {}) for i, run in enumerate(detailed)}
    checks = _figure_checks(db, figures)
    phases_of: dict[int, dict[PhaseName, PhaseResult]] = defaultdict(dict)
    for run in latest.values():
        metrics, artifacts = figures.get(run[0], ({}, {}))
        phase = _PHASE_OF[run[2]]
        phases_of[run[1]][phase] = PhaseResult(
            phase=phase,
            status=_PHASE_STATUS_OF[run[3]],
            checks=list(checks.get(run[0], ())),
            metrics=metrics,
            artifacts=artifacts,
            started_at=required_when(run[4]),
            finished_at=when(run[5]),
        )
    rollbacks_of = _rollbacks(db, ids, releases)
    return [
        ReleaseOutline(row[0], releases[row[0]], required_when(row[6]), phases_of[row[0]], rollbacks_of[row[0]])
        for row in rows
    ]


def _releases(rows: list[Any]) -> dict[int, Release]:
    return {
        row[0]: Release(
            service=row[1], environment=row[2], version=row[3], dirty=bool(row[4]), commit_time=when(row[5])
        )
        for row in rows
    }


def _rollbacks(db: sqlite3.Connection, ids: str, releases: dict[int, Release]) -> dict[int, list[RollbackRecord]]:
    found: dict[int, list[RollbackRecord]] = defaultdict(list)
    for rb in db.execute(_ROLLBACKS_OF, (ids,)):
        found[rb[1]].append(_rollback(rb, releases[rb[1]]))
    return found


def _check_data(db: sqlite3.Connection, run_ids: Iterable[int], column: str) -> list[tuple[int, Any]]:
    """``(run id, decoded data)`` of each check of the runs ``run_ids``, in order; ``column``: the SQL of
    the stored text to decode."""
    rows = db.execute(_CHECKS_OF.format(data=column), (json.dumps(list(run_ids)),)).fetchall()
    return list(zip((row[0] for row in rows), json_values([row[1] for row in rows]), strict=True))


def _checks(db: sqlite3.Connection, run_ids: list[int]) -> dict[int, tuple[CheckResult, ...]]:
    """The checks of the runs ``run_ids``."""
    if not run_ids:
        return {}
    found: dict[int, list[CheckResult]] = defaultdict(list)
    for run_id, data in _check_data(db, run_ids, "data"):
        found[run_id].append(_check(data))
    return {run_id: tuple(checks) for run_id, checks in found.items()}


def _figure_checks(
    db: sqlite3.Connection, figures: dict[int, tuple[dict[str, Any], dict[str, Any]]]
) -> dict[int, list[CheckResult]]:
    """The checks of the runs of ``figures`` (run id: its metrics and artifacts) as an outline keeps
    them (:func:`~bmad.ledger.records.figure_check`): lean, with the metrics and artifacts their run
    lacks, none when it lacks none. Decided on the decoded texts, before a check is made: a recorded
    DEPLOY's checks add nothing to its run's, and 3,000 releases made 18,000 checks for no figure."""
    if not figures:
        return {}
    found: dict[int, list[CheckResult]] = defaultdict(list)
    for run_id, data in _check_data(db, figures, _LEAN_CHECK_DATA):
        metrics, artifacts = figures[run_id]
        extra_metrics = names_beyond(data.get("metrics") or {}, metrics)
        extra_artifacts = names_beyond(data.get("artifacts") or {}, artifacts)
        if extra_metrics or extra_artifacts:
            found[run_id].append(_check({**data, "metrics": extra_metrics, "artifacts": extra_artifacts}))
    return found


def _checks_beside_runs(
    db: sqlite3.Connection, run_ids: list[int], run_artifacts: dict[int, dict[str, Any]]
) -> dict[int, tuple[CheckResult, ...]]:
    """As :func:`_checks`, each check without the artifacts that its run's ``run_artifacts`` also name."""
    found = {run_id: _checks_beside_run(db, run_id, run_artifacts[run_id]) for run_id in run_ids}
    return {run_id: checks for run_id, checks in found.items() if checks}


def _checks_beside_run(db: sqlite3.Connection, run_id: int, shadow: dict[str, Any]) -> tuple[CheckResult, ...]:
    """The checks of one run without the artifacts named in ``shadow``: SQLite's ``json_remove`` leaves
    them out of the text (https://sqlite.org/json1.html#jrm), so they are never decoded. A name no
    path finds (with a quote or a backslash, past the argument limit, non-ASCII and so stored
    escaped) is dropped here after decoding instead."""
    plain = [name for name in shadow if '"' not in name and "\\" not in name][:_MOST_REMOVED]
    paths = [f'$.artifacts."{name}"' for name in plain]
    column = f"json_remove(data{', ?' * len(paths)})" if paths else "data"
    rows = db.execute(_CHECKS_OF_RUN.format(data=column), (*paths, run_id)).fetchall()
    checks = []
    for data in json_values([row[0] for row in rows]):
        artifacts = data.get("artifacts")
        if isinstance(artifacts, dict) and any(name in shadow for name in artifacts):
            data["artifacts"] = {name: value for name, value in artifacts.items() if name not in shadow}
        checks.append(_check(data))
    return tuple(checks)


def _spans(db: sqlite3.Connection, run_ids: list[int]) -> dict[int, tuple[Span, ...]]:
    found: dict[int, list[Span]] = defaultdict(list)
    for run_id, kind, label, started, finished in db.execute(_SPANS_OF, (json.dumps(run_ids),)):
        found[run_id].append(Span(SpanKind(kind), label, required_when(started), required_when(finished)))
    return {run_id: tuple(spans) for run_id, spans in found.items()}


def _check(data: dict[str, Any]) -> CheckResult:
    """:meth:`CheckResult.from_dict` with the field names looked up once."""
    data["status"] = CheckStatus(data["status"])
    data["evidence_files"] = tuple(data.get("evidence_files") or ())
    started = data.get("started_at")
    data["started_at"] = datetime.fromisoformat(started) if isinstance(started, str) else None
    return CheckResult(**{k: v for k, v in data.items() if k in _CHECK_FIELDS})


def _run(
    row: Any,
    release: Release,
    checks: tuple[CheckResult, ...],
    spans: tuple[Span, ...],
    metrics: dict[str, Any],
    artifacts: dict[str, Any],
    outline: bool = False,
) -> PhaseRunRecord:
    return PhaseRunRecord(
        id=row[0],
        release=release,
        phase=_PHASE_OF[row[2]],
        attempt=row[3],
        status=_PHASE_STATUS_OF[row[4]],
        started_at=required_when(row[5]),
        finished_at=when(row[6]),
        forced_reason=row[7],
        metrics=metrics,
        artifacts=artifacts,
        message=row[10],
        evidence_dir=row[11],
        checks=checks,
        owner=row[12],
        pid=row[13],
        host=row[14],
        chain_seq=row[15],
        hash=row[16],
        spans=spans,
        deployer=Deployer(actor=row[17], run_url=row[18], trigger=row[19]),
        outline=outline,
    )


def _rollback(row: Any, release: Release) -> RollbackRecord:
    return RollbackRecord(
        id=row[0],
        release=release,
        from_version=row[2],
        to_version=row[3],
        reason=row[4],
        detected_at=required_when(row[5]),
        recovered_at=when(row[6]),
        mttr_seconds=row[7],
        manual=bool(row[8]),
    )
