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
from bmad.ledger.records import ReleaseHistory
from tests.ledger.test_ledger import REL, T0

LATER = Release("hello", "staging", "b" * 40, dirty=False, commit_time=T0)


class CountingLedger:
    """The real ledger, with each read's ``with_checks`` noted."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.reads: list[tuple[str, bool]] = []

    def list_releases(self, *, with_checks: bool = True, **kw: Any) -> list[ReleaseHistory]:
        self.reads.append(("list_releases", with_checks))
        return self.ledger.list_releases(with_checks=with_checks, **kw)

    def get_release(
        self, service: str, environment: str, version: str, *, with_checks: bool = True
    ) -> ReleaseHistory | None:
        self.reads.append(("get_release", with_checks))
        return self.ledger.get_release(service, environment, version, with_checks=with_checks)


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


def test_the_last_deployed_release_comes_whole_from_a_read_without_checks(ledger: Ledger) -> None:
    """Guards ANALYZE's and MEASURE's fixed cost: finding it read every check of every earlier release."""
    _deploy(ledger, REL, T0)
    counting = CountingLedger(ledger)
    found = LedgerHistory(counting, LATER).last_deployed()
    assert found is not None and found.release.version == REL.version
    assert found.phases[PhaseName.DEPLOY].checks[0].evidence == {"pods": 2}
    assert counting.reads == [("list_releases", False), ("get_release", True)]


def test_nothing_deployed_is_one_read_without_checks(ledger: Ledger) -> None:
    counting = CountingLedger(ledger)
    assert LedgerHistory(counting, LATER).last_deployed() is None
    assert counting.reads == [("list_releases", False)]
