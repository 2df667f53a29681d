"""Opening a SQLite ledger without SQLAlchemy: the plain-sqlite3 read path and the schema check."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine

from bmad import ledger as ledger_package
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger
from bmad.ledger.reader import HEAD_REVISION, stored_revision
from tests.reports.reports_data import SPECS, T0, filled_ledger

REL = Release("hello", "dev", "f" * 40)


def test_reader_returns_the_records_sqlalchemy_returns(tmp_path: Path) -> None:
    """Guards the sqlite3 read path: every release, run, check and rollback as the ORM reads them."""
    url = filled_ledger(tmp_path / "ledger.db")
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        assert fast._reader is not None and fast._opened is None  # opened without SQLAlchemy
        everything = orm.list_releases()
        assert len(everything) == len(SPECS)
        assert any(h.rollbacks for h in everything) and any(r.checks for h in everything for r in h.runs)
        assert fast.list_releases() == everything
        assert fast.list_releases(service="hello", environment="dev", limit=2) == everything[:2]
        before = everything[1].created_at
        assert fast.list_releases(before=before) == orm.list_releases(before=before)
        one = everything[2].release
        assert fast.get_release(one.service, one.environment, one.version) == everything[2]
        assert fast.get_release("hello", "dev", "0" * 40) is None
        assert fast.latest_results(one) == orm.latest_results(one)
        assert fast.lock_info("hello", "dev") is None
        assert fast._opened is None  # reads never loaded SQLAlchemy


def test_writes_after_a_cheap_open_go_through_sqlite3(tmp_path: Path) -> None:
    """Guards the lazy open: a phase's writes need no SQLAlchemy (issue 13); the reader sees what they wrote."""
    url = filled_ledger(tmp_path / "ledger.db")
    with Ledger.open(url, clock=lambda: T0 + timedelta(days=10)) as ledger:
        check = CheckResult(id="build.a", title="A", status=CheckStatus.PASS, duration_seconds=0.5)
        started = T0 + timedelta(days=10)
        ledger.record_phase(
            REL,
            PhaseResult(
                phase=PhaseName.BUILD,
                status=PhaseStatus.PASSED,
                checks=[check],
                started_at=started,
                finished_at=started + timedelta(seconds=3),
            ),
        )
        assert ledger._opened is None
        history = ledger.get_release(REL.service, REL.environment, REL.version)
        assert history is not None and history.runs[0].checks == (check,)
        with ledger.acquire_lock("hello", "dev", heartbeat=False) as lock:
            info = ledger.lock_info("hello", "dev")
            assert info is not None and info.owner == lock.owner
        assert ledger.verify().ok


def test_status_reads_open_neither_sqlalchemy_nor_alembic(tmp_path: Path) -> None:
    """Guards the schema check: a ledger at the code's revision is read with no SQLAlchemy/Alembic import."""
    url = filled_ledger(tmp_path / "ledger.db")
    code = (
        "import sys; from bmad.ledger import Ledger\n"
        f"db = Ledger.open({url!r})\n"
        "assert len(db.list_releases()) > 0 and db.detect_interrupted('hello', 'dev') == []\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_ledger_without_the_current_schema_is_migrated_on_open(tmp_path: Path) -> None:
    """Guards the fallback: a file whose stored revision is not the code's goes through Alembic."""
    from alembic import command
    from alembic.config import Config

    from bmad.ledger._db import make_engine

    path = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{path}")
    config = Config()
    config.set_main_option("script_location", str(Path(ledger_package.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")  # a ledger written by an older bmad
    engine.dispose()
    assert stored_revision(path) == "0001"
    with Ledger.open(f"sqlite:///{path}") as ledger:
        assert ledger._opened is not None  # migrated through SQLAlchemy
        assert ledger.list_releases() == []
    assert stored_revision(path) == HEAD_REVISION


def test_interrupted_runs_are_still_detected_after_a_cheap_open(tmp_path: Path) -> None:
    """Guards ``detect_interrupted``: a run left running by a dead process is still turned interrupted."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        ledger.start_phase(REL, PhaseName.BUILD, owner="elsewhere:999999:abcd")
    with Ledger.open(url) as ledger:
        assert ledger._opened is None
        changed = ledger.detect_interrupted(REL.service, REL.environment)
        assert [(r.phase, r.status) for r in changed] == [(PhaseName.BUILD, PhaseStatus.INTERRUPTED)]


def test_both_read_paths_return_a_phases_spans_in_order(tmp_path: Path) -> None:
    """Guards the spans of issue 13 in the ledger: written with the phase, read back equal (and in
    their order) by the sqlite3 path and by SQLAlchemy; they are outside the hash chain."""
    from bmad.core.spans import Span, SpanKind

    url = filled_ledger(tmp_path / "ledger.db")
    started = T0 + timedelta(days=10)
    spans = (
        Span(SpanKind.CONTAINER_ENGINE, "POST /v1.41/build", started, started + timedelta(seconds=2)),
        Span(SpanKind.REGISTRY, "push hello:1", started + timedelta(seconds=1), started + timedelta(seconds=3)),
    )
    result = PhaseResult(
        PhaseName.BUILD, PhaseStatus.PASSED, started_at=started, finished_at=started + timedelta(seconds=4)
    )
    result.spans = spans
    with Ledger.open(url, clock=lambda: started) as ledger:
        ledger.record_phase(REL, result)
        assert ledger.verify().ok
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        assert fast._reader is not None
        [run] = fast.get_release(REL.service, REL.environment, REL.version).runs  # type: ignore[union-attr]
        assert run.spans == spans and run.to_result().spans == spans
        assert fast.list_releases() == orm.list_releases()


def test_both_paths_keep_a_releases_notification_deliveries_outside_the_chain(tmp_path: Path) -> None:
    """Guards issue 15 (deliveries in the ledger, not in a file of the state folder): what the
    sqlite3 path writes, SQLAlchemy reads equal, and the reverse; texts are redacted, the hash chain
    is unchanged (deliveries are side effects, like spans)."""
    from bmad.core.redact import forget_secrets, register_secret
    from bmad.ports.notifications import DeliveryRecord

    url = filled_ledger(tmp_path / "ledger.db")
    sent = T0 + timedelta(days=10)
    first = DeliveryRecord("ops", "slack", "run_started", "hello started", sent, delivered=True, attempts=1)
    token = "planted-Hook-Token-77"
    register_secret(token)
    try:
        failed = DeliveryRecord("hook", "webhook", "gate_failed", "stop", sent, False, 3, reason=token)
        with Ledger.open(url) as fast:
            before = fast.verify()
            fast.record_deliveries(REL, [first])
            assert fast._reader is not None
        with Ledger(create_engine(url)) as orm:
            orm.record_deliveries(REL, [failed])
            after = orm.verify()
    finally:
        forget_secrets()
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        assert fast.deliveries(REL) == orm.deliveries(REL)
        stored_first, stored_failed = fast.deliveries(REL)
    assert stored_first == first
    assert stored_failed.reason != failed.reason and "planted-Hook-Token-77" not in stored_failed.reason
    assert before.ok and after.ok and after.checked == before.checked


def test_reads_without_checks_return_everything_but_the_checks(tmp_path: Path) -> None:
    """Guards issue 13's cheaper reads: the gate check, ``status`` and ``history`` read every run
    without its checks (both read paths), and nothing else of a release changes."""
    from dataclasses import replace

    url = filled_ledger(tmp_path / "ledger.db")
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        everything = orm.list_releases()
        stripped = [replace(h, runs=[replace(r, checks=()) for r in h.runs]) for h in everything]
        assert any(r.checks for h in everything for r in h.runs)
        for ledger in (orm, fast):
            assert ledger.list_releases(with_checks=False) == stripped
            one = everything[2].release
            assert ledger.get_release(one.service, one.environment, one.version, with_checks=False) == stripped[2]
            assert ledger.latest_release("hello", "dev", with_checks=False) == stripped[0]
            results = ledger.latest_results(one, with_checks=False)
            assert {p: r.status for p, r in results.items()} == {
                p: r.status for p, r in ledger.latest_results(one).items()
            }
        assert fast._opened is None
