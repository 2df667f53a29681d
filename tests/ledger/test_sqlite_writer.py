"""The sqlite3 write path of a SQLite ledger (issue 13): the ORM's rows and hashes, no SQLAlchemy import."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from bmad.core.ci import Deployer
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger, RollbackInput
from bmad.ports.notifications import DeliveryRecord
from tests.engine.support import bmad, cli_env, make_service
from tests.helpers import WalkCounter
from tests.reports.reports_data import SPECS, T0, record

KEY = "k" * 32
REL = Release("hello", "dev", "e" * 40, commit_time=T0)

DELIVERIES = (
    DeliveryRecord("ops", "slack", "run_started", "hello started", T0, delivered=True, attempts=1),
    DeliveryRecord("hook", "webhook", "gate_failed", "hello stopped", T0, delivered=False, attempts=3, reason="500"),
)


def _clock() -> Any:
    return T0 + timedelta(days=9)


def _writes(ledger: Ledger) -> list[Any]:
    """Every write a phase does, in one order; what each returned."""
    returned: list[Any] = [record(ledger, spec) for spec in SPECS]
    who = Deployer(actor="ci-bot", run_url="https://ci.example/run/7", trigger="push")
    run = ledger.start_phase(REL, PhaseName.BUILD, owner="h:1:aa", forced_reason="hotfix", deployer=who)
    ledger.set_evidence_dir(run, "/tmp/evidence/1")
    check = CheckResult(id="build.x", title="X", status=CheckStatus.FAIL, duration_seconds=1.25, evidence={"n": 1})
    shared = {"items": [{"b": 1, "a": (2, float("inf"))}], "note": "password=hunter22"}  # the phase's and a check's
    check = replace(check, artifacts={"report": shared, "z": float("nan"), "a": [shared]})
    odd = CheckResult(id="build.y", title="Y", status=CheckStatus.PASS, artifacts={2: "two", 10: shared})  # type: ignore[dict-item]
    result = PhaseResult(PhaseName.BUILD, PhaseStatus.FAILED, started_at=T0, finished_at=T0 + timedelta(seconds=5))
    result.checks = [check, odd]
    result.artifacts = {"report": shared, "b": {"c": shared}}
    result.metrics = {"ratio": float("nan"), "items": [1, 2.5, "a"]}
    rollback = RollbackInput(to_version="d" * 40, reason="bad", detected_at=T0, recovered_at=T0 + timedelta(seconds=9))
    returned.append(ledger.finish_phase(run, result, evidence_dir="/tmp/evidence/2", rollback=rollback))
    ledger.start_phase(REL, PhaseName.MEASURE, owner="elsewhere:999999:abcd")
    returned.append(ledger.detect_interrupted(REL.service, REL.environment))
    returned.append(ledger.record_rollback(REL, RollbackInput(to_version=None, reason="manual", detected_at=T0)))
    lock = ledger.acquire_lock("hello", "dev", owner="elsewhere:999998:bbbb", heartbeat=False, lease_seconds=-5)
    taken = ledger.acquire_lock("hello", "dev", owner="h:2:cc", heartbeat=False)  # the stale lease is taken over
    returned.append((lock.owner, taken.owner, taken.heartbeat(), ledger.lock_info("hello", "dev")))
    ledger.record_deliveries(REL, DELIVERIES)
    returned.append(ledger.deliveries(REL))
    return returned


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in tables}


def test_both_write_paths_store_the_same_rows_and_hashes(tmp_path: Path) -> None:
    """Guards the sqlite3 write path: every row (text of timestamps and JSON, seals, chain hashes,
    locks) and every returned record is what the ORM writes, and each chain verifies with either path."""
    orm_path, fast_path = tmp_path / "orm.db", tmp_path / "fast.db"
    for path in (orm_path, fast_path):
        Ledger.open(f"sqlite:///{path}").close()  # created at the head revision
    with Ledger(create_engine(f"sqlite:///{orm_path}"), clock=_clock, signing_key=KEY) as orm:
        by_orm = _writes(orm)
    with Ledger.open(f"sqlite:///{fast_path}", clock=_clock, signing_key=KEY) as fast:
        by_sqlite3 = _writes(fast)
        assert fast._opened is None  # nothing above loaded SQLAlchemy's side
        assert fast.verify().ok
    assert by_sqlite3 == by_orm
    assert _rows(fast_path) == _rows(orm_path)
    with Ledger(create_engine(f"sqlite:///{fast_path}"), signing_key=KEY) as orm_reading_fast:
        report = orm_reading_fast.verify()
        assert report.ok and report.checked > len(SPECS)


def test_tampering_is_found_in_a_chain_the_sqlite3_path_wrote(tmp_path: Path) -> None:
    """Guards the chain of the sqlite3 path: an edited check of a finished run breaks verification."""
    path = tmp_path / "ledger.db"
    Ledger.open(f"sqlite:///{path}").close()
    with Ledger.open(f"sqlite:///{path}", clock=_clock) as ledger:
        _writes(ledger)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE check_results SET status = 'pass' WHERE check_id = 'build.x'")
    with Ledger.open(f"sqlite:///{path}") as ledger:
        assert any("content does not match its hash" in p for p in ledger.verify().problems)


_LOADED = (
    "import sys; from bmad.cli.main import main; code = main(sys.argv[1:]); "
    "print(*sorted({m.split('.')[0] for m in sys.modules}), file=sys.stderr); sys.exit(code)"
)


def test_a_phase_on_a_sqlite_ledger_imports_neither_sqlalchemy_nor_alembic(tmp_path: Path) -> None:
    """Guards issue 13's write path: a phase recorded on a SQLite ledger at the head revision loaded
    SQLAlchemy (about 0.3 s of every phase command) for its ledger writes."""
    service = make_service(tmp_path / "svc")
    assert bmad("build", "-e", "dev", cwd=service).returncode == 0  # creates (and migrates) the ledger
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED, "measure", "-e", "dev"],
        cwd=service,
        env=cli_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    loaded = set(proc.stderr.split())
    assert not loaded & {"sqlalchemy", "alembic"}
    status = bmad("status", "-e", "dev", "--json", cwd=service)
    assert '"measure": "passed"' in status.stdout
    assert bmad("verify-ledger", cwd=service).returncode == 0


def test_an_artifact_of_the_phase_and_of_a_check_is_redacted_once(tmp_path: Path) -> None:
    """Guards the cost of recording a large ANALYZE (issue 13): its readiness report (a megabyte)
    is both the phase's artifact and its check's; finishing the phase redacts and stores it as
    plain JSON once (before: twice), and both rows hold it."""
    report = WalkCounter({"items": [{"id": "R-1"}], "score": 61.8})
    check = CheckResult(id="analyze.readiness", title="R", status=CheckStatus.FAIL, artifacts={"readiness": report})
    result = PhaseResult(PhaseName.ANALYZE, PhaseStatus.FAILED, [check], artifacts={"readiness": report}, started_at=T0)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", clock=_clock) as ledger:
        run = ledger.start_phase(REL, PhaseName.ANALYZE)
        stored = ledger.finish_phase(run, result)
    assert report.walks == 1
    expected = {"items": [{"id": "R-1"}], "score": 61.8}
    assert stored.artifacts == {"readiness": expected} and stored.checks[0].artifacts == {"readiness": expected}
