"""The dashboard's test ledger: the reports' known releases (tests/reports/reports_data.py), a second
environment, and a release whose names and texts carry markup and control characters."""

from __future__ import annotations

from datetime import timedelta

from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger
from tests.reports.reports_data import MIN, SPECS, T0, Spec, record

PROD = Spec("f" * 40, T0 + timedelta(days=4), (4, 3, 2, 5), commit_before=timedelta(hours=3), environment="prod")
HOSTILE_SERVICE = 'evil<script>alert("x")</script>'
HOSTILE_SUMMARY = "\x1b[31mred\x07 <img src=x onerror=alert(1)> done"


def fill(ledger: Ledger) -> None:
    """Record every release of the test ledger."""
    for spec in [*SPECS, PROD]:
        record(ledger, spec)
    record_hostile(ledger)


def record_hostile(ledger: Ledger) -> Release:
    """A BUILD that failed with markup in the service name and control characters in a check."""
    release = Release(HOSTILE_SERVICE, "dev", "9" * 40)
    start = T0 + timedelta(days=4, hours=1)
    ledger.ensure_release(release, created_at=start)
    check = CheckResult(
        id="build.tests.unit",
        title="Unit tests",
        status=CheckStatus.FAIL,
        summary=HOSTILE_SUMMARY,
        fix="</td></tr></table><script>alert(2)</script>",
    )
    result = PhaseResult(
        PhaseName.BUILD, PhaseStatus.FAILED, checks=[check], started_at=start, finished_at=start + timedelta(minutes=2)
    )
    ledger.record_phase(release, result)
    return release


def passed(phase: PhaseName, start_minutes: float, minutes: float) -> PhaseResult:
    """A passed phase of the live release, ``start_minutes`` after T0 + 5 days."""
    start = T0 + timedelta(days=5, minutes=start_minutes)
    check = CheckResult(id=f"{phase.value}.live", title="Live check", status=CheckStatus.PASS, duration_seconds=3.0)
    return PhaseResult(
        phase, PhaseStatus.PASSED, checks=[check], started_at=start, finished_at=start + timedelta(minutes=minutes)
    )


LIVE_RELEASE = Release("hello", "staging", "5" * 40)


def fill_weeks(ledger: Ledger, weeks: int = 8) -> list[Spec]:
    """Two releases a week of ``api``/``prod`` for ``weeks`` weeks before T0; every third week the
    second one is rolled back (restored in ``week + 1`` minutes)."""
    specs: list[Spec] = []
    for week in range(weeks):
        monday = T0 - timedelta(weeks=weeks - week)
        for index in range(2):
            bad = index == 1 and week % 3 == 0
            specs.append(
                Spec(
                    f"{week:02d}{index}".ljust(40, "7"),
                    monday + timedelta(days=1 + 2 * index, hours=week % 5),
                    (3 + week % 4, 2, 1, 4 + index),
                    commit_before=timedelta(hours=1 + week),
                    deploy_ok=not bad,
                    zero_downtime=not bad,
                    rollback=(3 * MIN, timedelta(minutes=week + 1)) if bad else None,
                    service="api",
                    environment="prod",
                )
            )
    for spec in specs:
        record(ledger, spec)
    return specs
