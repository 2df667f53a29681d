"""The snapshot reads only the releases that changed, and still ends up with what a full read gives."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bmad.core.models import PhaseName, PhaseStatus, Release
from bmad.ledger import Ledger
from bmad.ledger.records import RollbackInput
from bmad.reports.source import load_releases
from bmad.serve.loaded import LoadedReleases
from tests.reports.reports_data import NOW, SPECS, T0, Spec, record
from tests.serve.serve_data import fill, passed


def _facts(views: Any) -> list[tuple[str, str, dict[PhaseName, PhaseStatus], int]]:
    return [
        (v.release_id, v.version, {phase: result.status for phase, result in v.phases.items()}, len(v.rollbacks))
        for v in views
    ]


def _update(loaded: LoadedReleases, ledger: Ledger) -> Any:
    views = loaded.update(ledger, ledger.change_stamp())
    assert _facts(views) == _facts(load_releases(ledger))  # the same as reading everything
    return views


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    url = f"sqlite:///{tmp_path}/ledger.db" if request.param == "sqlite" else request.getfixturevalue("postgres_db")
    ledger = Ledger.open(url, clock=lambda: NOW)
    fill(ledger)
    yield ledger
    ledger.close()


def test_each_kind_of_record_is_read_without_reading_everything(any_ledger: Ledger) -> None:
    """Guards the incremental reload: every change used to read every release again (9.6 s on SQLite,
    29.6 s on PostgreSQL at 10,000 releases), so the board lagged that long after each record."""
    ledger, loaded = any_ledger, LoadedReleases()
    _update(loaded, ledger)
    late = Release("late", "dev", "8" * 40)
    ledger.ensure_release(late, created_at=T0 + timedelta(days=5))  # a new release
    _update(loaded, ledger)
    run_id = ledger.start_phase(late, PhaseName.BUILD, started_at=T0 + timedelta(days=5))  # a run starts
    assert _update(loaded, ledger)[-1].phases[PhaseName.BUILD].status is PhaseStatus.RUNNING
    ledger.finish_phase(run_id, passed(PhaseName.BUILD, 7200, 2))  # it ends: no new id, read as it was running
    assert _update(loaded, ledger)[-1].phases[PhaseName.BUILD].status is PhaseStatus.PASSED
    old = Release("hello", "dev", SPECS[0].version)
    ledger.record_rollback(old, RollbackInput(reason="by hand", detected_at=NOW, recovered_at=NOW, manual=True))
    _update(loaded, ledger)  # a rollback of an old release
    record(ledger, Spec("7" * 40, T0 + timedelta(days=5, hours=2), (1, 1, 1, 1), service="later"))
    _update(loaded, ledger)
    assert loaded.full_loads == 1


def test_a_row_deleted_by_hand_makes_it_read_everything(tmp_path: Path) -> None:
    """Rows are only ever added: when the counts say otherwise, the incremental read cannot be trusted."""
    ledger = Ledger.open(f"sqlite:///{tmp_path}/ledger.db", clock=lambda: NOW)
    try:
        fill(ledger)
        loaded = LoadedReleases()
        _update(loaded, ledger)
        with sqlite3.connect(tmp_path / "ledger.db") as db:
            db.execute("DELETE FROM rollbacks WHERE id = (SELECT min(id) FROM rollbacks)")
        _update(loaded, ledger)
        assert loaded.full_loads == 2
    finally:
        ledger.close()
