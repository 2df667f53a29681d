"""The scheduler's own worker threads: a bounded pool, errors handed back, abort on Ctrl-C."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bmad.core.models import CheckResult, CheckStatus
from bmad.engine.scheduler import run_checks
from bmad.ports.phase import Check, PhaseContext
from tests.engine.test_phase_imports import _loaded_after
from tests.phase_harness import context_from_yaml


def _ctx(tmp_path: Path) -> PhaseContext:
    text = "service: {name: svc}\nenvironments: {dev: {}}\n"
    return context_from_yaml(tmp_path, text, environment="dev", version="1" * 40)


def _passing(check_id: str, body: object = None) -> Check:
    def run(ctx: PhaseContext) -> CheckResult:
        if callable(body):
            body()
        return CheckResult(id=check_id, title=check_id, status=CheckStatus.PASS, summary="ok")

    return Check(id=check_id, title=check_id, run=run)


def test_the_engine_of_a_phase_does_not_load_concurrent_futures() -> None:
    """Guards issue 13: importing concurrent.futures (and queue) was ~2.5 ms of every phase; the
    notifier loads it only when it sends to a channel."""
    loaded = _loaded_after("import bmad.engine.scheduler, bmad.engine.notifications")
    assert not (loaded & {"concurrent.futures", "queue"})


def test_no_more_checks_run_at_once_than_workers(tmp_path: Path) -> None:
    """Guards the pool's bound: 6 checks on 2 workers never overlap by more than 2."""
    lock = threading.Lock()
    running = [0]
    most = [0]

    def busy() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    checks = [_passing(f"c{i}", busy) for i in range(6)]
    ran = run_checks(checks, _ctx(tmp_path), warnings_fail=False, max_workers=2)
    assert [r.id for r in ran.results] == [f"c{i}" for i in range(6)]
    assert all(r.status is CheckStatus.PASS for r in ran.results) and not ran.aborted
    assert most[0] == 2
    assert not [t for t in threading.enumerate() if t.name.startswith("bmad-check")]


def test_what_a_check_raises_past_exception_reaches_the_caller(tmp_path: Path) -> None:
    """Guards the hand-back of a check's SystemExit (as ``Future.result()`` raised it)."""

    def leave() -> None:
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        run_checks([_passing("c0", leave)], _ctx(tmp_path), warnings_fail=False)


def test_cancel_skips_what_runs_and_what_waits(tmp_path: Path) -> None:
    """Guards abort: a cancelled phase returns at once, the running check and the queued one skipped."""
    ctx = _ctx(tmp_path)
    release = threading.Event()
    checks = [_passing("slow", lambda: release.wait(10)), _passing("queued")]
    threading.Timer(0.2, ctx.cancel.set).start()
    started = time.monotonic()
    ran = run_checks(checks, ctx, warnings_fail=False, max_workers=1)
    release.set()
    assert ran.aborted and time.monotonic() - started < 5
    assert [(r.id, r.status, r.summary) for r in ran.results] == [
        ("slow", CheckStatus.SKIP, "aborted while running (Ctrl-C)"),
        ("queued", CheckStatus.SKIP, "aborted while running (Ctrl-C)"),
    ]


def test_a_check_that_starts_early_takes_a_worker_before_those_declared_ahead_of_it(tmp_path: Path) -> None:
    """Guards ANALYZE's snapshot (issue 13, session 6): a check that mostly waits on another system
    queued behind the CPU-bound checks declared ahead of it, so its wait added to the phase instead of
    overlapping their work. On one worker the start order shows it; results keep declared order."""
    started: list[str] = []

    def noting(check_id: str, early: bool = False) -> Check:
        def run(ctx: PhaseContext) -> CheckResult:
            started.append(check_id)
            return CheckResult(id=check_id, title=check_id, status=CheckStatus.PASS, summary="ok")

        return Check(id=check_id, title=check_id, run=run, starts_early=early)

    checks = [noting("a"), noting("b"), noting("waits", early=True), noting("c")]
    ran = run_checks(checks, _ctx(tmp_path), warnings_fail=False, max_workers=1)
    assert started == ["waits", "a", "b", "c"]
    assert [r.id for r in ran.results] == ["a", "b", "waits", "c"]
