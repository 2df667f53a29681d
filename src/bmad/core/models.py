"""Plain data shared by every layer: phases, statuses, check results, releases."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.spans import Span

# A metric value as written into phase records: the guide uses numbers, percentages and booleans.
MetricValue = int | float | bool | str | None
JSON = Any


class PhaseName(StrEnum):
    BUILD = "build"
    MEASURE = "measure"
    ANALYZE = "analyze"
    DEPLOY = "deploy"

    @classmethod
    def ordered(cls) -> tuple[PhaseName, ...]:
        return (cls.BUILD, cls.MEASURE, cls.ANALYZE, cls.DEPLOY)

    @property
    def previous(self) -> PhaseName | None:
        order = PhaseName.ordered()
        index = order.index(self)
        return order[index - 1] if index else None

    @property
    def label(self) -> str:
        return self.value.upper()


class CheckStatus(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


class PhaseStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ABORTED = "aborted"  # Ctrl-C
    INTERRUPTED = "interrupted"  # the process died; found on the next start

    @property
    def finished(self) -> bool:
        return self in (PhaseStatus.PASSED, PhaseStatus.FAILED, PhaseStatus.ABORTED, PhaseStatus.INTERRUPTED)


def utcnow() -> datetime:
    return datetime.now(UTC)


@datatype(frozen=True)
class CheckResult:
    """What one check found.

    ``title`` says what was checked, ``expected`` against what, ``observed`` what was seen,
    ``evidence`` the supporting facts (JSON-serialisable, never secret values) and ``fix``
    how to make it pass. ``metrics`` are guide-named figures this check contributes to the
    phase record; ``artifacts`` are structured outputs later checks and phases read
    (image digest, baseline values, snapshot, rollback plan ...).
    """

    id: str
    title: str
    status: CheckStatus
    summary: str = ""
    expected: str = ""
    observed: str = ""
    fix: str = ""
    evidence: dict[str, JSON] = field(default_factory=dict)
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    artifacts: dict[str, JSON] = field(default_factory=dict)
    evidence_files: tuple[str, ...] = ()
    duration_seconds: float = 0.0
    started_at: datetime | None = None  # when the scheduler started it (recorded only when known)

    def with_duration(self, seconds: float) -> CheckResult:
        return dataclasses.replace(self, duration_seconds=seconds)

    def to_dict(self) -> dict[str, JSON]:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["evidence_files"] = list(self.evidence_files)
        if self.started_at is None:
            del data["started_at"]  # records written without it stay as they were
        else:
            data["started_at"] = self.started_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> CheckResult:
        values = dict(data)
        values["status"] = CheckStatus(values["status"])
        values["evidence_files"] = tuple(values.get("evidence_files") or ())
        started = values.get("started_at")
        values["started_at"] = datetime.fromisoformat(started) if isinstance(started, str) else None
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@datatype(frozen=True)
class Release:
    """A release is (service, environment, version); the version is a git commit."""

    service: str
    environment: str
    version: str
    dirty: bool = False
    commit_time: datetime | None = None

    @property
    def short_version(self) -> str:
        return self.version[:12]

    @property
    def key(self) -> str:
        return f"{self.service}/{self.environment}@{self.short_version}"


@datatype
class PhaseResult:
    """The outcome of one phase of one release, as written into its record."""

    phase: PhaseName
    status: PhaseStatus
    checks: list[CheckResult] = field(default_factory=list)
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    artifacts: dict[str, JSON] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    forced_reason: str | None = None
    message: str = ""
    spans: tuple[Span, ...] = ()  # the phase's waits on other systems (see bmad.core.spans)

    @property
    def duration_seconds(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in CheckStatus}
        for check in self.checks:
            counts[check.status.value] += 1
        return counts

    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status is CheckStatus.FAIL]
