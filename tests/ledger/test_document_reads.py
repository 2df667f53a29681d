"""The read behind a release's documents (issue 13): a check's copy of an artifact its phase also
holds is left out (the view looks the phase's up first); everything the documents show comes through,
on every read path."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger
from bmad.ledger.records import LATEST_ATTEMPTS, ReleaseHistory
from bmad.reports.outputs import release_figures, write_view_outputs
from bmad.reports.source import release_view
from tests.reports.reports_data import T0

RELEASE = Release("hello", "dev", "a" * 40)
READINESS = {
    "category_scores": {"Security": 50.0},
    "items": [{"id": f"SC-{n:03}", "status": "fail"} for n in range(50)],
}
# Names a json_remove() path cannot find (quote, backslash, non-ASCII stored escaped): dropped after decoding.
ODD = {'say "hi"': 1, "back\\slash": 2, "é": 3}
# What the phase holds under its own names, and what only the check holds (the view reads it from the check).
PHASE_ARTIFACTS = {"readiness": READINESS, "manifest_validation": {"summary": {"valid": 3}}, **ODD}
CHECK_ONLY = {"snapshot": {"image": "hello:1"}}


def _record(url: str) -> None:
    readiness = CheckResult(
        "analyze.readiness",
        "Production readiness checklist",
        CheckStatus.FAIL,
        evidence={"items": [{"id": "SC-001", "status": "skipped", "reason": "no scan"}]},
        artifacts={"readiness": READINESS, **ODD, **CHECK_ONLY},
    )
    plain = CheckResult("analyze.secrets", "Secrets configured", CheckStatus.PASS, evidence={"n": 1})
    with Ledger.open(url) as ledger:
        for minutes, phase, checks in ((0, PhaseName.BUILD, [plain]), (1, PhaseName.ANALYZE, [readiness, plain])):
            at = T0 + timedelta(minutes=minutes)
            artifacts = PHASE_ARTIFACTS if phase is PhaseName.ANALYZE else {"image": "hello:1"}
            ledger.record_phase(RELEASE, PhaseResult(phase, PhaseStatus.FAILED, checks, {"m": 1}, artifacts, at, at))


def _without_copies(history: ReleaseHistory) -> ReleaseHistory:
    """``history`` with each check's artifacts that its run also names taken out."""
    runs = [
        replace(
            run,
            checks=tuple(
                replace(c, artifacts={k: v for k, v in c.artifacts.items() if k not in run.artifacts})
                for c in run.checks
            ),
        )
        for run in history.runs
    ]
    return replace(history, runs=runs)


def _lean(ledger: Ledger) -> ReleaseHistory:
    found = ledger.get_release(
        RELEASE.service, RELEASE.environment, RELEASE.version, with_checks=LATEST_ATTEMPTS, shadowed_artifacts=False
    )
    assert found is not None
    return found


def _documents(history: ReleaseHistory, out: Path) -> dict[str, bytes]:
    outputs = write_view_outputs(release_view(history), out)
    return {name: path.read_bytes() for name, path in outputs.files.items()}


def _assert_lean_reads(tmp_path: Path, *readers: Ledger) -> None:
    whole = readers[0].get_release(RELEASE.service, RELEASE.environment, RELEASE.version)
    assert whole is not None
    expected = _without_copies(whole)
    analyze = expected.phases[PhaseName.ANALYZE]
    assert analyze.checks[0].artifacts == CHECK_ONLY  # the only artifact the view reads from a check
    for ledger in readers:
        lean = _lean(ledger)
        assert lean == expected
        view, full_view = release_view(lean), release_view(whole)
        for name in [*PHASE_ARTIFACTS, *CHECK_ONLY, "absent"]:
            assert view.artifact(PhaseName.ANALYZE, name) == full_view.artifact(PhaseName.ANALYZE, name)
        assert _documents(lean, tmp_path / "lean") == _documents(whole, tmp_path / "whole")


def test_a_release_documents_read_leaves_out_the_checks_copies_of_phase_artifacts(tmp_path: Path) -> None:
    """Guards publishing after a large ANALYZE (issue 13): the readiness report is stored in the phase's
    artifacts and again in its check's; the documents' read (``shadowed_artifacts=False``) leaves the
    check's copy out, on SQLite inside the query (``json_remove``: never decoded). The records equal
    the whole read less those copies on both SQLite read paths, an artifact only a check holds still
    comes through, and the documents rendered from either read are byte-identical."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    _record(url)
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        _assert_lean_reads(tmp_path, orm, fast)
        assert fast._opened is None  # the documents' read stayed on sqlite3
        whole = fast.get_release(RELEASE.service, RELEASE.environment, RELEASE.version)
        assert whole is not None and whole.phases[PhaseName.ANALYZE].checks[0].artifacts["readiness"] == READINESS
        figures = release_figures(fast, RELEASE)
        lean_check = _lean(fast).phases[PhaseName.ANALYZE].checks[0]
        assert figures.view.check(PhaseName.ANALYZE, "analyze.readiness") == lean_check


@pytest.mark.postgres
def test_the_documents_read_is_the_same_on_postgresql(postgres_db: str, tmp_path: Path) -> None:
    """Guards the PostgreSQL ledger (ORM path): the documents' read gives the same records as on
    SQLite (each check without its run's artifact names) and the same documents."""
    _record(postgres_db)
    with Ledger.open(postgres_db) as ledger:
        _assert_lean_reads(tmp_path, ledger)
