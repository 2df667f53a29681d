"""The releases snapshot behind the board: reloaded while pages ask for it, paused when nobody does."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

from bmad.core.models import PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger
from bmad.ledger.records import RollbackInput
from bmad.serve.snapshot import ReleaseSnapshot
from tests.reports.reports_data import T0, Spec, record


def test_loading_pauses_when_idle_and_a_request_gets_a_fresh_load(sqlite_ledger: Ledger) -> None:
    closing = threading.Event()
    snapshot = ReleaseSnapshot(sqlite_ledger, interval=0.05, closing=closing, idle_seconds=0.5)
    snapshot.start()
    try:
        assert len(snapshot.views()) == 7
        time.sleep(1.5)  # nobody asks: the loader pauses
        paused_at = snapshot.loads
        time.sleep(1.0)
        assert snapshot.loads == paused_at
        record(sqlite_ledger, Spec("8" * 40, T0 + timedelta(days=5), (1, 1, 1, 1), service="late"))
        views = snapshot.views()  # after a pause: waits for a load that started after the request
        assert len(views) == 8 and views[-1].service == "late"
        assert snapshot.loads > paused_at
    finally:
        closing.set()


def test_a_quiet_ledger_is_not_reloaded_and_a_recorded_phase_is(sqlite_ledger: Ledger) -> None:
    """Guards the change stamp: every pass used to reload every release (seconds at 10,000 releases)."""
    closing = threading.Event()
    snapshot = ReleaseSnapshot(sqlite_ledger, interval=0.05, closing=closing)
    snapshot.start()
    try:
        first = snapshot.views()
        snapshot.wait_fresh()
        assert snapshot.views() is first  # passes went by, nothing was recorded: the same load
        record(sqlite_ledger, Spec("8" * 40, T0 + timedelta(days=5), (1, 0, 0, 0), service="late"))
        snapshot.wait_fresh()
        assert snapshot.views() is not first and snapshot.views()[-1].service == "late"
    finally:
        closing.set()


def test_the_change_stamp_moves_with_every_kind_of_record(tmp_path: Path) -> None:
    """What the snapshot relies on: a release, a started phase, a finished phase and a rollback each
    change the stamp; reading changes nothing; the sqlite3 reader and SQLAlchemy agree."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    writer = Ledger.open(url)
    release = Release("svc", "dev", "1" * 40)
    stamps = [writer.change_stamp()]
    writer.ensure_release(release)
    stamps.append(writer.change_stamp())
    run_id = writer.start_phase(release, PhaseName.BUILD)
    stamps.append(writer.change_stamp())
    writer.finish_phase(run_id, PhaseResult(PhaseName.BUILD, PhaseStatus.PASSED, started_at=T0, finished_at=T0))
    stamps.append(writer.change_stamp())
    writer.record_rollback(release, RollbackInput(reason="r", detected_at=T0, recovered_at=T0))
    stamps.append(writer.change_stamp())
    assert len(set(stamps)) == len(stamps), stamps
    writer.list_releases()
    reader = Ledger.open(url)  # at the schema's head revision: the sqlite3 reader
    try:
        assert reader.change_stamp() == writer.change_stamp() == stamps[-1]
    finally:
        reader.close()
        writer.close()
