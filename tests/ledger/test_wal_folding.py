"""A SQLite ledger's write-ahead log is folded into the file once, when the ledger closes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus
from bmad.ledger import Ledger
from tests.ledger.test_ledger import REL, T0


def test_the_log_is_folded_once_when_the_ledger_closes(tmp_path: Path) -> None:
    """Guards the fixed cost of a phase: every read and write closed the file's last connection,
    which folds the log into the file with its fsyncs (about ten times a phase)."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger.open(url).close()  # created and migrated
    wal = tmp_path / "ledger.db-wal"
    result = PhaseResult(
        phase=PhaseName.BUILD,
        status=PhaseStatus.PASSED,
        checks=[CheckResult(id="build.a", title="A", status=CheckStatus.PASS)],
        started_at=T0,
        finished_at=T0 + timedelta(minutes=1),
    )
    with Ledger.open(url, clock=lambda: T0) as ledger:
        ledger.record_phase(REL, result)
        assert ledger.latest_results(REL)[PhaseName.BUILD].status is PhaseStatus.PASSED
        assert wal.exists()  # not folded after each connection
    assert not wal.exists()  # folded when the ledger closed
    with Ledger.open(url) as again:
        assert again.verify().ok
