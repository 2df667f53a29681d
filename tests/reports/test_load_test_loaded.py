"""The report and the runbook say which version MEASURE's load test loaded (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger
from bmad.reports.outputs import write_release_outputs
from tests.reports.reports_data import LOAD_TEST

LOADED = "127.0.0.1:5000/hello@sha256:" + "a" * 64 + " (candidate preview)"


def test_the_loaded_version_is_shown(tmp_path: Path) -> None:
    """Guards: the capacity curve did not say whether the candidate or the serving release answered."""
    t = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    with Ledger.open(f"sqlite:///{tmp_path}/l.db", clock=lambda: t) as ledger:
        release = Release("hello", "staging", "e" * 40)
        sweep = CheckResult(
            "measure.load_test",
            "Load-test sweep within the SLO",
            CheckStatus.PASS,
            summary=f"1 levels within the SLO, 10 requests; loaded {LOADED}",
            evidence={"loaded": LOADED, "loaded_version": "candidate"},
        )
        measure = PhaseResult(PhaseName.MEASURE, PhaseStatus.PASSED, checks=[sweep], artifacts={"load_test": LOAD_TEST})
        ledger.record_phase(release, measure)
        out = write_release_outputs(ledger, "e" * 40, tmp_path / "out")
    assert f"<p>Loaded: {LOADED}</p>" in out.files["report_html"].read_text()
    assert f"; loaded {LOADED}" in out.files["runbook_md"].read_text()
