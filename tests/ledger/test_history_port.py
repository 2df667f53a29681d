"""The history port over a real SQLite ledger: the last deployed release, read without every check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger
from bmad.ledger.history_port import LedgerHistory
from bmad.ledger.records import LATEST_ATTEMPTS, ChecksOf, ReleaseHistory, ReleaseOutline
from tests.ledger.test_ledger import REL, T0

LATER = Release("hello", "staging", "b" * 40, dirty=False, commit_time=T0)


class CountingLedger:
    """The real ledger, with each read's ``with_checks`` noted."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.reads: list[tuple[str, ChecksOf]] = []

    def get_release(
        self, service: str, environment: str, version: str, *, with_checks: ChecksOf = True
    ) -> ReleaseHistory | None:
        self.reads.append(("get_release", with_checks))
        return self.ledger.get_release(service, environment, version, with_checks=with_checks)

    def release_outlines(self, *, details: Any = (), **kw: Any) -> list[ReleaseOutline]:
        self.reads.append(("release_outlines", bool(details)))
        return self.ledger.release_outlines(details=details, **kw)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", clock=lambda: T0) as db:
        yield db


def _deploy(ledger: Ledger, release: Release, at: datetime) -> None:
    check = CheckResult(id="deploy.rollout", title="Rollout", status=CheckStatus.PASS, evidence={"pods": 2})
    ledger.record_phase(
        release,
        PhaseResult(
            phase=PhaseName.DEPLOY,
            status=PhaseStatus.PASSED,
            checks=[check],
            started_at=at,
            finished_at=at + timedelta(minutes=1),
        ),
    )


def test_the_last_deployed_release_comes_whole_from_a_read_of_outlines(ledger: Ledger) -> None:
    """Guards ANALYZE's and MEASURE's fixed cost: finding it read every check of every earlier release,
    then (issue 13, session 6) every earlier run's artifacts (megabytes after a large ANALYZE)."""
    _deploy(ledger, REL, T0)
    counting = CountingLedger(ledger)
    found = LedgerHistory(counting, LATER).last_deployed()
    assert found is not None and found.release.version == REL.version
    assert found.phases[PhaseName.DEPLOY].checks[0].evidence == {"pods": 2}
    assert counting.reads == [("release_outlines", False), ("get_release", LATEST_ATTEMPTS)]


def test_nothing_deployed_is_one_read_without_checks(ledger: Ledger) -> None:
    counting = CountingLedger(ledger)
    assert LedgerHistory(counting, LATER).last_deployed() is None
    assert counting.reads == [("release_outlines", False)]


def _failed_deploy(ledger: Ledger, release: Release, at: datetime) -> None:
    ledger.record_phase(
        release, PhaseResult(phase=PhaseName.DEPLOY, status=PhaseStatus.FAILED, started_at=at, finished_at=at)
    )


def _deployed_then_rolled_back(ledger: Ledger) -> tuple[Release, Release]:
    """Two releases deployed an hour apart, the second rolled back."""
    from bmad.ledger.records import RollbackInput

    older = Release("hello", "staging", "1" * 40, dirty=False, commit_time=T0)
    rolled = Release("hello", "staging", "2" * 40, dirty=False, commit_time=T0)
    _deploy(ledger, older, T0)
    _deploy(ledger, rolled, T0 + timedelta(hours=1))
    ledger.record_rollback(rolled, RollbackInput(reason="smoke tests failed", detected_at=T0 + timedelta(hours=1)))
    return older, rolled


def test_the_last_deployed_release_is_the_newest_earlier_one_whose_latest_deploy_passed_unrolled(
    ledger: Ledger,
) -> None:
    """The outline read keeps the rules of the whole read: a release rolled back, one whose latest
    DEPLOY attempt failed after a passed one, and the current release itself are passed over."""
    older, _ = _deployed_then_rolled_back(ledger)
    retried = Release("hello", "staging", "3" * 40, dirty=False, commit_time=T0)
    _deploy(ledger, retried, T0 + timedelta(hours=2))
    _failed_deploy(ledger, retried, T0 + timedelta(hours=3))
    _deploy(ledger, LATER, T0 + timedelta(hours=4))
    found = LedgerHistory(ledger, LATER).last_deployed()
    assert found is not None and found.release.version == older.version
    assert LedgerHistory(ledger, older).last_deployed() is None


def test_previous_releases_are_read_as_outlines_newest_first(ledger: Ledger) -> None:
    """Guards ANALYZE's rollback plan on a long ledger (session 10: it read every attempt, check and
    artifact of every release to take the past DEPLOY durations): one read of outlines, the releases
    before the current one newest first, each DEPLOY with its status and times, a rolled-back one so marked."""
    older, rolled = _deployed_then_rolled_back(ledger)
    _deploy(ledger, LATER, T0 + timedelta(hours=2))
    counting = CountingLedger(ledger)
    found = LedgerHistory(counting, LATER).previous_releases(limit=5)
    assert counting.reads == [("release_outlines", False)]
    assert [(r.release.version, r.rolled_back) for r in found] == [(rolled.version, True), (older.version, False)]
    deploy = found[1].phases[PhaseName.DEPLOY]
    assert deploy.duration_seconds == 60.0 and deploy.status is PhaseStatus.PASSED and deploy.checks == []
    assert LedgerHistory(ledger, LATER).previous_releases(limit=1) == found[:1]
