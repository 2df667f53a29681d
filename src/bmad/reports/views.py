"""The read-model every report is rendered from: releases with their phases, figures and rollbacks.

It is plain data built from the ledger (see :mod:`bmad.reports.source`), so the computations
and renderers are tested without a database. A release here is one (service, environment,
version) attempt through BUILD -> MEASURE -> ANALYZE -> DEPLOY with the latest result of
each phase that ran for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName, PhaseResult, PhaseStatus, Release


class Outcome(StrEnum):
    """What became of one release (the ``result`` label of ``bmad_deployments_total``)."""

    SUCCESS = "success"  # DEPLOY passed and the release was not rolled back
    ROLLED_BACK = "rolled_back"  # deployed (or tried to), then returned to the previous version
    FAILED = "failed"  # DEPLOY failed and nothing was rolled back
    BLOCKED = "blocked"  # a gate before DEPLOY stopped it: never reached the target
    INCOMPLETE = "incomplete"  # still running, or stopped before DEPLOY without a failed gate

    @property
    def deployed(self) -> bool:
        """Did this release reach the target (a deployment attempt)?"""
        return self in (Outcome.SUCCESS, Outcome.ROLLED_BACK, Outcome.FAILED)


def parse_time(value: Any) -> datetime | None:
    """A timestamp as recorded in artifacts: ISO 8601 text, unix seconds, or a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


@datatype(frozen=True)
class RollbackInfo:
    """DEPLOY's ``rollback`` artifact: why, when it was detected, when service was restored."""

    reason: str = ""
    detected_at: datetime | None = None
    recovered_at: datetime | None = None
    to_version: str | None = None
    manual: bool = False
    # DEPLOY's mttr_seconds metric, used when the timestamps were not recorded.
    recorded_mttr_seconds: float | None = None

    @property
    def recovered(self) -> bool:
        return self.recovered_at is not None or (self.detected_at is None and self.recorded_mttr_seconds is not None)

    @property
    def restore_seconds(self) -> float | None:
        """Detection to recovery; None while (or because) the service never recovered."""
        if self.detected_at is not None and self.recovered_at is not None:
            return max(0.0, (self.recovered_at - self.detected_at).total_seconds())
        if self.recovered_at is None and self.detected_at is not None:
            return None
        return self.recorded_mttr_seconds

    @classmethod
    def from_artifact(cls, data: Mapping[str, Any], *, mttr_seconds: float | None = None) -> RollbackInfo:
        to_version = data.get("to_version")
        return cls(
            reason=str(data.get("reason") or ""),
            detected_at=parse_time(data.get("detected_at")),
            recovered_at=parse_time(data.get("recovered_at")),
            to_version=str(to_version) if to_version else None,
            manual=bool(data.get("manual", False)),
            recorded_mttr_seconds=mttr_seconds,
        )


def _number(value: MetricValue | Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().rstrip("%")
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _flag(value: MetricValue | Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "yes", "1", "100%"):
            return True
        if low in ("false", "no", "0", "0%"):
            return False
    return None


@datatype
class ReleaseView:
    """One release and the latest result of each phase that ran for it."""

    release_id: str
    release: Release
    phases: dict[PhaseName, PhaseResult] = field(default_factory=dict)
    created_at: datetime | None = None
    # The ledger's rollback records (automatic or manual), oldest first.
    rollbacks: list[RollbackInfo] = field(default_factory=list)
    deployer: str | None = None
    # Evidence folder of the latest attempt of each phase, when known.
    evidence_dirs: dict[PhaseName, str] = field(default_factory=dict)

    # -- plain look-ups -----------------------------------------------------------------
    @property
    def service(self) -> str:
        return self.release.service

    @property
    def environment(self) -> str:
        return self.release.environment

    @property
    def version(self) -> str:
        return self.release.version

    def phase(self, name: PhaseName) -> PhaseResult | None:
        return self.phases.get(name)

    def metric(self, phase: PhaseName, name: str) -> MetricValue:
        result = self.phases.get(phase)
        if result is None:
            return None
        if name in result.metrics:
            return result.metrics[name]
        for check in result.checks:
            if name in check.metrics:
                return check.metrics[name]
        return None

    def number(self, phase: PhaseName, name: str) -> float | None:
        return _number(self.metric(phase, name))

    def flag(self, phase: PhaseName, name: str) -> bool | None:
        return _flag(self.metric(phase, name))

    def artifact(self, phase: PhaseName, name: str) -> Any:
        result = self.phases.get(phase)
        if result is None:
            return None
        if name in result.artifacts:
            return result.artifacts[name]
        for check in result.checks:
            if name in check.artifacts:
                return check.artifacts[name]
        return None

    def check(self, phase: PhaseName, check_id: str) -> CheckResult | None:
        result = self.phases.get(phase)
        if result is None:
            return None
        for item in result.checks:
            if item.id == check_id:
                return item
        return None

    def all_checks(self) -> list[tuple[PhaseName, CheckResult]]:
        return [
            (name, check) for name in PhaseName.ordered() if name in self.phases for check in self.phases[name].checks
        ]

    # -- timing ------------------------------------------------------------------------
    @property
    def started_at(self) -> datetime | None:
        starts = [p.started_at for p in self.phases.values() if p.started_at is not None]
        if starts:
            return min(starts)
        return self.created_at

    @property
    def finished_at(self) -> datetime | None:
        """When the release's last phase finished (for a deployment: DEPLOY's end)."""
        deploy = self.phases.get(PhaseName.DEPLOY)
        if deploy is not None and deploy.finished_at is not None:
            return deploy.finished_at
        ends = [p.finished_at for p in self.phases.values() if p.finished_at is not None]
        return max(ends) if ends else None

    @property
    def deployed_at(self) -> datetime | None:
        """DEPLOY's end: the time a change reached (or failed to reach) the environment."""
        deploy = self.phases.get(PhaseName.DEPLOY)
        return deploy.finished_at if deploy is not None else None

    @property
    def total_seconds(self) -> float | None:
        """First phase start to last phase end: the whole B-MAD run for this release."""
        start, end = self.started_at, self.finished_at
        if start is None or end is None:
            return None
        return max(0.0, (end - start).total_seconds())

    @property
    def lead_time_seconds(self) -> float | None:
        """DORA lead time for changes: commit time to DEPLOY's end."""
        commit, end = self.release.commit_time, self.deployed_at
        if commit is None or end is None:
            return None
        return max(0.0, (end - commit).total_seconds())

    @property
    def when(self) -> datetime | None:
        """The instant a release is filed under for a period filter."""
        return self.deployed_at or self.finished_at or self.started_at

    # -- outcome -------------------------------------------------------------------------
    @property
    def rollback(self) -> RollbackInfo | None:
        """The (first) rollback of this release: the ledger's record, else DEPLOY's artifact/metrics."""
        if self.rollbacks:
            return self.rollbacks[0]
        data = self.artifact(PhaseName.DEPLOY, "rollback")
        mttr = self.number(PhaseName.DEPLOY, "mttr_seconds")
        if isinstance(data, Mapping):
            return RollbackInfo.from_artifact(data, mttr_seconds=mttr)
        if self.flag(PhaseName.DEPLOY, "rolled_back"):
            return RollbackInfo(recorded_mttr_seconds=mttr)
        return None

    @property
    def rolled_back(self) -> bool:
        return self.rollback is not None

    @property
    def outcome(self) -> Outcome:
        deploy = self.phases.get(PhaseName.DEPLOY)
        if deploy is None or not deploy.status.finished:
            for name in PhaseName.ordered():
                result = self.phases.get(name)
                if result is not None and result.status in (
                    PhaseStatus.FAILED,
                    PhaseStatus.ABORTED,
                    PhaseStatus.INTERRUPTED,
                ):
                    return Outcome.BLOCKED
            return Outcome.INCOMPLETE
        if self.rollback is not None:
            return Outcome.ROLLED_BACK
        if deploy.status is PhaseStatus.PASSED:
            return Outcome.SUCCESS
        return Outcome.FAILED

    @property
    def zero_downtime(self) -> bool | None:
        return self.flag(PhaseName.DEPLOY, "zero_downtime")


def status_mark(value: bool | None) -> str:
    """✓ / ✗ / – (not recorded)."""
    if value is None:
        return "–"
    return "✓" if value else "✗"


def check_status_ok(status: CheckStatus) -> bool | None:
    if status is CheckStatus.SKIP:
        return None
    return status in (CheckStatus.PASS, CheckStatus.WARN)
