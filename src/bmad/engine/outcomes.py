"""What a run did: one :class:`PhaseOutcome` per phase it ran, inside one :class:`RunOutcome`."""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Any

from bmad.core.datatypes import datatype
from bmad.core.errors import BmadError, ExitCode
from bmad.core.models import PhaseName, PhaseResult, Release
from bmad.ledger.records import check_data

if TYPE_CHECKING:
    from bmad.engine.publish import Published
    from bmad.ledger.records import PhaseRunRecord
    from bmad.ports.notifications import DeliveryRecord


@datatype
class PhaseOutcome:
    """One phase as this invocation ran it."""

    result: PhaseResult
    attempt: int
    warnings_fail: bool
    evidence_dir: str | None = None
    ledger_hash: str | None = None
    record_path: str | None = None
    record_commit: str | None = None
    record_error: str | None = None
    error: BmadError | None = None

    @property
    def phase(self) -> PhaseName:
        return self.result.phase

    def to_dict(self) -> dict[str, Any]:
        result = self.result
        data = {
            "phase": result.phase.value,
            "status": result.status.value,
            "attempt": self.attempt,
            "started_at": result.started_at.isoformat() if result.started_at else None,
            "finished_at": result.finished_at.isoformat() if result.finished_at else None,
            "duration_seconds": round(result.duration_seconds, 6),
            "forced_reason": result.forced_reason,
            "message": result.message,
            "warnings_fail": self.warnings_fail,
            "counts": result.counts(),
            "metrics": result.metrics,
            "artifacts": result.artifacts,
            "checks": [check_data(check) for check in result.checks],  # serialised only: no deep copy
            "evidence_dir": self.evidence_dir,
            "ledger_hash": self.ledger_hash,
            "record": {"path": self.record_path, "commit": self.record_commit, "error": self.record_error},
        }
        if result.spans:
            data["spans"] = [span.to_dict() for span in result.spans]
        return data


@datatype
class RunOutcome:
    """What a ``run_release`` call did: per-phase results and the exit code the CLI uses."""

    release: Release
    phases: list[PhaseOutcome] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.OK
    message: str = ""
    interrupted: list[PhaseRunRecord] = field(default_factory=list)
    # Runbook, checklist, report and bmad's own metrics written at the end of the run.
    published: Published | None = None
    # Every notification this run sent (or failed to send), in order.
    notifications: list[DeliveryRecord] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.exit_code is ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        release = self.release
        return {
            "release": {
                "service": release.service,
                "environment": release.environment,
                "version": release.version,
                "dirty": release.dirty,
                "commit_time": release.commit_time.isoformat() if release.commit_time else None,
                "key": release.key,
            },
            "exit_code": int(self.exit_code),
            "passed": self.passed,
            "message": self.message,
            "interrupted": [
                {"phase": r.phase.value, "attempt": r.attempt, "message": r.message} for r in self.interrupted
            ],
            "phases": [phase.to_dict() for phase in self.phases],
            "published": self.published.to_dict() if self.published else None,
            "notifications": [record.to_dict() for record in self.notifications],
        }
