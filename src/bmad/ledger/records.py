"""Plain, typed views of what the ledger holds (what its API returns; no SQLAlchemy objects leak out)."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import field, fields, replace
from datetime import datetime
from typing import Any

from bmad.core.ci import Deployer
from bmad.core.datatypes import datatype
from bmad.core.errors import BmadError
from bmad.core.models import JSON, CheckResult, MetricValue, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.core.spans import Span
from bmad.ports.history import ReleaseRecord


class LedgerError(BmadError):
    """The ledger refused a write (e.g. finishing a phase that is no longer running)."""


@datatype(frozen=True)
class LatestAttemptsOf:
    """``with_checks=LatestAttemptsOf(phases)``: each phase's latest attempt only, whole, with the
    checks of ``phases``; for readers that look at nothing else (the gate, a release's documents, a
    run about to run a phase again, which does not read its last attempt's checks). Every reader
    leaves the earlier attempts out (an ANALYZE attempt's checks and artifacts can be a megabyte): the
    SQLite reader never selects them, the ORM reader loads their rows without those columns.

    ``bare_others``: the latest attempts of the other phases come bare, with their status and times
    but no metrics and no artifacts (every reader leaves those out): for a run about to run a phase
    again, which looks only at that phase's status.

    ``earlier``: the earlier attempts are listed too, as outlines (:attr:`PhaseRunRecord.outline`:
    status, times, message, spans and hash; no metrics, artifacts or checks), by every reader: for
    ``bmad status`` and ``bmad history``, whose cost then grows with the releases shown, not with how
    often a phase was retried (fifty ANALYZE attempts of a thousand objects are 150 MB of JSON)."""

    phases: frozenset[PhaseName]
    bare_others: bool = False
    earlier: bool = False


LATEST_ATTEMPTS = LatestAttemptsOf(frozenset(PhaseName))  # every phase's checks, latest attempts only
# every attempt listed, each phase's latest whole and the earlier ones as outlines: what `bmad status`,
# `bmad history` and `bmad serve` show
LATEST_AND_OUTLINES = LatestAttemptsOf(frozenset(PhaseName), earlier=True)
# each phase's latest attempt with its status, times and message only: to find a release, or to say
# where it stands
STATUSES_ONLY = LatestAttemptsOf(frozenset(), bare_others=True)


# Which runs' checks a read loads: True every run's, False none, the runs of the phases given,
# or LatestAttemptsOf (LATEST_ATTEMPTS).
ChecksOf = bool | Collection[PhaseName] | LatestAttemptsOf


def latest_only(with_checks: ChecksOf) -> bool:
    """Whether a read with ``with_checks`` returns each phase's latest attempt in full and no other
    (the earlier ones left out, or listed as outlines: :func:`earlier_outlined`)."""
    return isinstance(with_checks, LatestAttemptsOf)


def earlier_outlined(with_checks: ChecksOf) -> bool:
    """Whether a read with ``with_checks`` lists the earlier attempts as outlines (every reader)."""
    return isinstance(with_checks, LatestAttemptsOf) and with_checks.earlier


def latest_run_ids(runs: Iterable[tuple[int, Hashable, datetime]]) -> set[int]:
    """Of runs given as ``(id, key, started_at)``, the id of the latest (by ``started_at``, then id) of
    each key: a phase of one release, or a ``(release id, phase)``."""
    latest: dict[Hashable, tuple[datetime, int]] = {}
    for run_id, key, started in runs:
        if key not in latest or latest[key] < (started, run_id):
            latest[key] = (started, run_id)
    return {run_id for _, run_id in latest.values()}


def bare_phases(with_checks: ChecksOf) -> frozenset[PhaseName]:
    """The phases whose runs a read with ``with_checks`` returns without metrics and artifacts."""
    if isinstance(with_checks, LatestAttemptsOf) and with_checks.bare_others:
        return frozenset(PhaseName) - with_checks.phases
    return frozenset()


def checked_phases(with_checks: ChecksOf) -> frozenset[PhaseName]:
    """The phases whose runs' checks a read with ``with_checks`` loads (latest runs only: see :func:`latest_only`)."""
    if isinstance(with_checks, bool):
        return frozenset(PhaseName) if with_checks else frozenset()
    if isinstance(with_checks, LatestAttemptsOf):
        return with_checks.phases
    return frozenset(with_checks)


def check_data(check: CheckResult) -> dict[str, Any]:
    """``check.to_dict()`` without its deep copy, for callers that serialise it or copy it anyway:
    a check's evidence can be megabytes (ANALYZE of a thousand objects)."""
    data: dict[str, Any] = {f.name: getattr(check, f.name) for f in fields(check)}
    data["status"] = check.status.value
    data["evidence_files"] = list(check.evidence_files)
    if check.started_at is None:
        del data["started_at"]  # as to_dict: records written without it stay as they were
    else:
        data["started_at"] = check.started_at.isoformat()
    return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@datatype(frozen=True)
class PhaseRunRecord:
    """One attempt of one phase of one release (a row of ``phase_runs`` with its check results)."""

    id: int
    release: Release
    phase: PhaseName
    attempt: int
    status: PhaseStatus
    started_at: datetime
    finished_at: datetime | None
    forced_reason: str | None
    metrics: dict[str, MetricValue]
    artifacts: dict[str, JSON]
    message: str
    evidence_dir: str | None
    checks: tuple[CheckResult, ...] = ()
    owner: str | None = None
    pid: int | None = None
    host: str | None = None
    chain_seq: int | None = None
    hash: str | None = None
    spans: tuple[Span, ...] = ()
    deployer: Deployer = field(default_factory=Deployer)
    # an earlier attempt read as an outline (``LatestAttemptsOf(earlier=True)``): its metrics, artifacts
    # and checks were not read (its evidence folder's phase.json has them)
    outline: bool = False

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_result(self) -> PhaseResult:
        return PhaseResult(
            phase=self.phase,
            status=self.status,
            checks=list(self.checks),
            metrics=dict(self.metrics),
            artifacts=dict(self.artifacts),
            started_at=self.started_at,
            finished_at=self.finished_at,
            forced_reason=self.forced_reason,
            message=self.message,
            spans=self.spans,
        )

    def to_dict(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "phase": self.phase.value,
            "attempt": self.attempt,
            "status": self.status.value,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration_seconds": self.duration_seconds,
            "forced_reason": self.forced_reason,
            "metrics": self.metrics,
            "artifacts": self.artifacts,
            "message": self.message,
            "evidence_dir": self.evidence_dir,
            "checks": [check_data(check) for check in self.checks],
            "hash": self.hash,
            "deployer": self.deployer.to_dict(),
        }
        if self.outline:  # what was not read is left out, not shown empty
            for key in ("metrics", "artifacts", "checks"):
                del data[key]
            data["outline"] = True
        if self.spans:
            data["spans"] = [span.to_dict() for span in self.spans]
        return data


@datatype(frozen=True)
class RollbackRecord:
    id: int
    release: Release
    from_version: str
    to_version: str | None
    reason: str
    detected_at: datetime
    recovered_at: datetime | None
    mttr_seconds: float | None
    manual: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "reason": self.reason,
            "detected_at": _iso(self.detected_at),
            "recovered_at": _iso(self.recovered_at),
            "mttr_seconds": self.mttr_seconds,
            "manual": self.manual,
        }


@datatype(frozen=True)
class RollbackInput:
    """What DEPLOY reports in ``artifacts["rollback"]``; the ledger computes the MTTR."""

    reason: str
    detected_at: datetime
    recovered_at: datetime | None = None
    to_version: str | None = None
    manual: bool = False


@datatype
class ReleaseHistory:
    """A release with every phase attempt (oldest first) and its rollbacks: what ``bmad history`` shows."""

    id: int
    release: Release
    created_at: datetime
    runs: list[PhaseRunRecord] = field(default_factory=list)
    rollbacks: list[RollbackRecord] = field(default_factory=list)

    def latest(self, phase: PhaseName) -> PhaseRunRecord | None:
        found = [run for run in self.runs if run.phase is phase]
        return found[-1] if found else None

    @property
    def phases(self) -> dict[PhaseName, PhaseRunRecord]:
        """The latest attempt of each phase that ran."""
        latest: dict[PhaseName, PhaseRunRecord] = {}
        for run in self.runs:
            latest[run.phase] = run
        return latest

    def phase_status(self, phase: PhaseName) -> PhaseStatus:
        run = self.latest(phase)
        return run.status if run is not None else PhaseStatus.PENDING

    @property
    def deployer(self) -> Deployer:
        """Who ran the latest DEPLOY, else the newest phase run (empty when nothing is recorded)."""
        run = self.latest(PhaseName.DEPLOY) or (self.runs[-1] if self.runs else None)
        return run.deployer if run is not None else Deployer()

    @property
    def rolled_back(self) -> bool:
        return bool(self.rollbacks)

    @property
    def next_phase(self) -> PhaseName | None:
        """The first phase (in order) whose latest attempt did not pass; None when all passed."""
        for phase in PhaseName.ordered():
            if self.phase_status(phase) is not PhaseStatus.PASSED:
                return phase
        return None

    def to_record(self) -> ReleaseRecord:
        return ReleaseRecord(
            release=self.release,
            phases={phase: run.to_result() for phase, run in self.phases.items()},
            created_at=self.created_at,
            rolled_back=self.rolled_back,
        )

    def to_dict(self) -> dict[str, Any]:
        release = self.release
        return {
            "id": self.id,
            "service": release.service,
            "environment": release.environment,
            "version": release.version,
            "dirty": release.dirty,
            "commit_time": _iso(release.commit_time),
            "created_at": _iso(self.created_at),
            "status": {phase.value: self.phase_status(phase).value for phase in PhaseName.ordered()},
            "deployer": self.deployer.to_dict(),
            "runs": [run.to_dict() for run in self.runs],
            "rollbacks": [rollback.to_dict() for rollback in self.rollbacks],
        }


@datatype(frozen=True)
class ReleaseOutline:
    """A release as figures read it: the latest result of each phase that ran, with its status and
    times (the phases read in detail also with their metrics and artifacts, and their checks as
    :func:`figure_check` keeps them: the metrics and artifacts their run lacks; the others' are empty;
    no message, spans or run bookkeeping), and the release's rollbacks."""

    id: int
    release: Release
    created_at: datetime
    phases: dict[PhaseName, PhaseResult]
    rollbacks: list[RollbackRecord]


# What an outline's check leaves out: its texts and evidence (a DEPLOY's smoke tests and rollout
# details are kilobytes a release; a figure looks only at a check's status, metrics and artifacts).
LEAN_CHECK_OMITS = ("summary", "expected", "observed", "fix", "evidence")


def lean_check(check: CheckResult) -> CheckResult:
    """``check`` as an outline keeps it: without the fields of :data:`LEAN_CHECK_OMITS`."""
    return replace(check, summary="", expected="", observed="", fix="", evidence={})


def figure_check(check: CheckResult, metrics: Mapping[str, Any], artifacts: Mapping[str, Any]) -> CheckResult | None:
    """What a figure can read of ``check`` beside its run's ``metrics`` and ``artifacts``: it looks a
    name up in the run's first (``ReleaseView.metric``, ``.artifact``), so only the names the run lacks;
    None when the run has them all (the engine merges its checks' artifacts into the run's, and DEPLOY's
    metrics name what its checks measured: a recorded DEPLOY's checks add nothing)."""
    extra_metrics, extra_artifacts = names_beyond(check.metrics, metrics), names_beyond(check.artifacts, artifacts)
    if not extra_metrics and not extra_artifacts:
        return None
    return replace(lean_check(check), metrics=extra_metrics, artifacts=extra_artifacts)


def names_beyond(values: Mapping[str, Any], known: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` whose names ``known`` lacks."""
    return {name: value for name, value in values.items() if name not in known}


def outline_result(run: PhaseRunRecord, *, detailed: bool) -> PhaseResult:
    """The part of ``run`` that a :class:`ReleaseOutline` keeps."""
    figured = (figure_check(check, run.metrics, run.artifacts) for check in run.checks) if detailed else ()
    return PhaseResult(
        phase=run.phase,
        status=run.status,
        checks=[check for check in figured if check is not None],
        metrics=dict(run.metrics) if detailed else {},
        artifacts=dict(run.artifacts) if detailed else {},
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def outline_of(history: ReleaseHistory, details: Collection[PhaseName]) -> ReleaseOutline:
    """``history`` as an outline, the phases of ``details`` in detail."""
    phases = {phase: outline_result(run, detailed=phase in details) for phase, run in history.phases.items()}
    return ReleaseOutline(history.id, history.release, history.created_at, phases, list(history.rollbacks))


@datatype(frozen=True)
class LockInfo:
    service: str
    environment: str
    owner: str
    pid: int
    host: str
    acquired_at: datetime
    lease_until: datetime
    heartbeat_at: datetime


@datatype
class VerifyReport:
    """Outcome of :meth:`Ledger.verify`: ``problems`` names every edited or deleted record."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    anchors: int = 0  # chain hashes read outside the database (the records branch) and compared

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "problems": list(self.problems), "anchors": self.anchors}
