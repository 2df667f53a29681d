"""The ledger on real SQLite and real PostgreSQL: records, history, hash chain, interruption, locks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bmad.core.errors import LockHeld
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger, RollbackInput
from bmad.ledger.procs import this_host
from bmad.ledger.reader import HEAD_REVISION
from bmad.ledger.urls import resolve_url

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REL = Release("hello", "staging", "a" * 40, dirty=False, commit_time=T0 - timedelta(hours=1))


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    db: str = request.getfixturevalue("postgres_db")
    return db


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def ledger(url: str, clock: FakeClock) -> Iterator[Ledger]:
    with Ledger.open(url, clock=clock) as db:
        yield db


def result(phase: PhaseName, status: PhaseStatus, start: datetime, seconds: float, **kw: object) -> PhaseResult:
    checks = [
        CheckResult(id=f"{phase.value}.a", title="A", status=CheckStatus.PASS, duration_seconds=0.5),
        CheckResult(
            id=f"{phase.value}.b",
            title="B",
            status=CheckStatus.FAIL if status is PhaseStatus.FAILED else CheckStatus.PASS,
            evidence={"seen": 3},
        ),
    ]
    return PhaseResult(
        phase=phase,
        status=status,
        checks=checks,
        started_at=start,
        finished_at=start + timedelta(seconds=seconds),
        **kw,  # type: ignore[arg-type]
    )


def test_records_and_history_with_known_data(ledger: Ledger) -> None:
    ledger.ensure_release(REL, created_at=T0)
    nan = ledger.record_phase(REL, result(PhaseName.BUILD, PhaseStatus.FAILED, T0, 10, metrics={"p95": float("nan")}))
    assert nan.metrics == {"p95": None}  # PostgreSQL's JSON has no NaN
    ledger.record_phase(
        REL,
        result(PhaseName.BUILD, PhaseStatus.PASSED, T0 + timedelta(minutes=5), 180, metrics={"image_size_mb": 42.5}),
    )
    later = Release("hello", "staging", "b" * 40)
    ledger.ensure_release(later, created_at=T0 + timedelta(days=1))
    ledger.record_phase(
        later,
        result(PhaseName.DEPLOY, PhaseStatus.FAILED, T0 + timedelta(days=1), 60),
        rollback=RollbackInput(
            reason="error rate 12%",
            detected_at=T0 + timedelta(days=1, seconds=30),
            recovered_at=T0 + timedelta(days=1, seconds=75),
            to_version="a" * 40,
        ),
    )

    releases = ledger.list_releases(service="hello", environment="staging")
    assert [r.release.version[0] for r in releases] == ["b", "a"]
    first = releases[1]
    assert [run.attempt for run in first.runs] == [1, 2]
    assert first.phase_status(PhaseName.BUILD) is PhaseStatus.PASSED
    assert first.phases[PhaseName.BUILD].duration_seconds == 180
    assert first.phases[PhaseName.BUILD].metrics == {"image_size_mb": 42.5}
    assert first.next_phase is PhaseName.MEASURE
    assert first.release.commit_time == REL.commit_time
    rollback = releases[0].rollbacks[0]
    assert rollback.mttr_seconds == 45
    assert rollback.to_version == "a" * 40
    assert releases[0].rolled_back
    # the history port: the newer release sees the older one; nothing was deployed
    port = ledger.history_for(later)
    assert [r.release.version for r in port.previous_releases()] == ["a" * 40]
    assert port.last_deployed() is None
    latest = ledger.latest_results(REL)
    assert latest[PhaseName.BUILD].status is PhaseStatus.PASSED
    assert latest[PhaseName.BUILD].checks[1].evidence == {"seen": 3}
    data = releases[0].to_dict()
    assert data["status"]["deploy"] == "failed" and data["rollbacks"][0]["mttr_seconds"] == 45
    assert ledger.verify().ok
    assert ledger.verify().checked == 4  # three phase runs and one rollback


def test_verify_names_edited_and_deleted_records(ledger: Ledger, url: str) -> None:
    for index, phase in enumerate(PhaseName.ordered()):
        ledger.record_phase(REL, result(phase, PhaseStatus.PASSED, T0 + timedelta(minutes=index), 30))
    assert ledger.verify().ok
    engine = create_engine(resolve_url(url, state_dir=None))
    with engine.begin() as conn:
        conn.execute(text("UPDATE phase_runs SET metrics = '{\"test_pass_rate\": 100}' WHERE phase = 'measure'"))
        conn.execute(text("UPDATE check_results SET status = 'warn' WHERE id = (SELECT MIN(id) FROM check_results)"))
    report = ledger.verify()
    assert not report.ok
    joined = "\n".join(report.problems)
    assert "(measure attempt 1, chain #2): content does not match its hash (edited)" in joined
    assert "(build attempt 1, chain #1): content does not match its hash (edited)" in joined
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM check_results WHERE phase_run_id IN (SELECT id FROM phase_runs WHERE phase='analyze')")
        )
        conn.execute(text("DELETE FROM phase_runs WHERE phase = 'analyze'"))
    assert "record #3 of the chain was deleted" in ledger.verify().problems
    with engine.begin() as conn:  # deleting the newest record is noticed through the chain head
        conn.execute(
            text("DELETE FROM check_results WHERE phase_run_id IN (SELECT id FROM phase_runs WHERE phase='deploy')")
        )
        conn.execute(text("DELETE FROM phase_runs WHERE phase = 'deploy'"))
    assert "record #4 of the chain was deleted" in ledger.verify().problems
    engine.dispose()


def test_a_running_phase_of_a_dead_owner_becomes_interrupted(ledger: Ledger, clock: FakeClock) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = f"{this_host()}:{dead.pid}:deadbeef"
    ledger.record_phase(REL, result(PhaseName.BUILD, PhaseStatus.PASSED, T0, 5))
    ledger.start_phase(REL, PhaseName.MEASURE, owner=owner, started_at=T0 + timedelta(minutes=1))
    ledger.start_phase(Release("other", "staging", "c" * 40), PhaseName.BUILD, owner=owner)
    assert ledger.verify().ok  # running records are not chained yet, and that is fine
    with ledger.acquire_lock("hello", "staging", owner=owner, heartbeat=False):
        pass  # released normally: no lock row is left
    # a live owner holding the lock keeps its run
    mine = f"{this_host()}:{os.getpid()}:cafe0001"
    lock = ledger.acquire_lock("hello", "staging", owner=mine, heartbeat=False)
    live = ledger.start_phase(REL, PhaseName.ANALYZE, owner=mine)
    changed = ledger.detect_interrupted("hello", "staging")
    assert [(r.phase, r.status) for r in changed] == [(PhaseName.MEASURE, PhaseStatus.INTERRUPTED)]
    assert f"process {dead.pid}" in changed[0].message
    assert ledger.phase_run(live) is not None and ledger.phase_run(live).status is PhaseStatus.RUNNING  # type: ignore[union-attr]
    lock.release()
    history = ledger.get_release("hello", "staging", REL.version)
    assert history is not None and history.phase_status(PhaseName.MEASURE) is PhaseStatus.INTERRUPTED
    # the other service was not touched
    other = ledger.get_release("other", "staging", "c" * 40)
    assert other is not None and other.phase_status(PhaseName.BUILD) is PhaseStatus.RUNNING
    ledger.finish_phase(live, result(PhaseName.ANALYZE, PhaseStatus.PASSED, clock(), 1))
    assert ledger.verify().ok


def test_locks_conflict_expire_and_are_stolen_once(ledger: Ledger, clock: FakeClock) -> None:
    holder = ledger.acquire_lock("hello", "prod", lease_seconds=30, heartbeat=False)
    with pytest.raises(LockHeld, match=r"hello/prod is locked by another bmad run \(pid \d+"):
        ledger.acquire_lock("hello", "prod", wait_seconds=0)
    clock.tick(31)  # the lease ran out: the next run takes over
    assert holder.heartbeat()  # nobody took it yet: a late heartbeat from the old holder still renews...
    clock.tick(31)
    taker = ledger.acquire_lock("hello", "prod", lease_seconds=30, heartbeat=False)
    assert holder.heartbeat() is False  # ...but once taken over, the old holder finds out
    info = ledger.lock_info("hello", "prod")
    assert info is not None and info.owner == taker.owner
    taker.release()
    assert ledger.lock_info("hello", "prod") is None


def test_a_dead_owners_lock_is_taken_by_exactly_one_of_many(ledger: Ledger) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = ledger.acquire_lock("hello", "dev", owner=f"{this_host()}:{dead.pid}:0", heartbeat=False)
    assert stale.owner.endswith(":0")
    winners: list[str] = []
    losers: list[str] = []
    barrier = threading.Barrier(6)

    def contend(index: int) -> None:
        barrier.wait()
        try:
            lock = ledger.acquire_lock("hello", "dev", owner=f"{this_host()}:{os.getpid()}:t{index}", heartbeat=False)
            winners.append(lock.owner)
        except LockHeld:
            losers.append(str(index))

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(losers) == 5


def test_wait_for_a_lock_and_heartbeat_keeps_it(url: str) -> None:
    with Ledger.open(url) as db:
        lock = db.acquire_lock("hello", "dev", lease_seconds=0.3)  # heartbeat thread renews every 0.1 s
        released_at: list[float] = []

        def release_later() -> None:
            import time

            time.sleep(0.6)  # longer than the lease: only the heartbeat keeps it
            released_at.append(time.monotonic())
            lock.release()

        thread = threading.Thread(target=release_later)
        thread.start()
        import time

        with pytest.raises(LockHeld):
            db.acquire_lock("hello", "dev", wait_seconds=0.3, poll_seconds=0.05)
        second = db.acquire_lock("hello", "dev", wait_seconds=5, poll_seconds=0.02)
        assert released_at and time.monotonic() >= released_at[0]
        assert not lock.lost.is_set()
        second.release()
        thread.join()


def test_migrations_run_once_and_reopen_is_cheap(url: str) -> None:
    with Ledger.open(url) as db:
        db.record_phase(REL, result(PhaseName.BUILD, PhaseStatus.PASSED, T0, 1))
    with Ledger.open(url) as db:  # second open: schema at head, data kept
        assert len(db.list_releases()) == 1
    engine = create_engine(resolve_url(url, state_dir=None))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION == "0004"
    engine.dispose()


def test_default_location_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BMAD_LEDGER_URL", raising=False)
    assert resolve_url(None, state_dir=tmp_path / "st") == f"sqlite:///{tmp_path / 'st' / 'ledger.db'}"
    monkeypatch.setenv("BMAD_LEDGER_URL", "postgresql://u:pw@127.0.0.1:1/x")
    assert resolve_url("sqlite:///ignored.db", state_dir=None) == "postgresql+psycopg://u:pw@127.0.0.1:1/x"


def test_spans_are_kept_with_their_phase_on_every_backend(ledger: Ledger) -> None:
    """Guards the spans of issue 13 on SQLite and PostgreSQL: stored with the phase run, read back in
    order with their UTC times, labels redacted, and left out of the hash chain."""
    from bmad.core.redact import forget_secrets, register_secret
    from bmad.core.spans import Span, SpanKind

    register_secret("s3cr3t-span-token")
    try:
        spans = (
            Span(SpanKind.GIT, "git rev-parse", T0, T0 + timedelta(seconds=1)),
            Span(SpanKind.MONITORING, "GET /q?token=s3cr3t-span-token", T0, T0 + timedelta(seconds=2)),
        )
        stored = ledger.record_phase(REL, result(PhaseName.BUILD, PhaseStatus.PASSED, T0, 5, spans=spans))
    finally:
        forget_secrets()
    history = ledger.get_release(REL.service, REL.environment, REL.version)
    assert history is not None
    [run] = history.runs
    assert [s.kind for s in run.spans] == [SpanKind.GIT, SpanKind.MONITORING]
    assert [(s.start, s.end) for s in run.spans] == [(s.start, s.end) for s in spans]
    assert run.spans[1].label.startswith("GET /q?token=") and "s3cr3t" not in str(run.to_dict())
    assert stored.hash == run.hash and ledger.verify().ok
