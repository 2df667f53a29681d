"""``verify-ledger`` against sixteen ways of tampering with the ledger (issue 19): the twelve the
hash chain always caught, and the four that need the chain hashes kept outside the database
(the ``bmad/records`` branch) or the seal of running rows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bmad.config.loader import load_config
from bmad.core.models import PhaseName, PhaseStatus
from bmad.engine import run_release
from bmad.engine.queries import release_status, verify_ledger
from bmad.ledger.hashing import chain_hash
from tests.engine.support import bmad, make_service

Tamper = Callable[[sqlite3.Connection], None]


@pytest.fixture
def service(tmp_path: Path) -> Path:
    """A service whose four phases passed: four chained records, four records on the branch."""
    service = make_service(tmp_path / "svc")
    assert run_release(service / "bmad.yaml", "dev", options={"x_deploy_checks": 2}).passed
    return service


@pytest.fixture
def db(service: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(service / ".bmad" / "ledger.db", isolation_level=None)
    yield conn
    conn.close()


def _problems(service: Path) -> str:
    report = verify_ledger(load_config(service / "bmad.yaml"))
    return "\n".join(report.problems)


def _delete_run(db: sqlite3.Connection, phase: str) -> None:
    db.execute("DELETE FROM check_results WHERE phase_run_id IN (SELECT id FROM phase_runs WHERE phase = ?)", (phase,))
    db.execute("DELETE FROM phase_runs WHERE phase = ?", (phase,))


ALWAYS_CAUGHT: dict[str, tuple[Tamper, str]] = {
    "check status edited": (
        lambda db: db.execute(
            "UPDATE check_results SET status = 'fail' WHERE id = (SELECT MIN(id) FROM check_results) -- edit"
        ),
        "content does not match its hash",
    ),
    "check data edited": (
        lambda db: db.execute("UPDATE check_results SET data = '{}' WHERE id = (SELECT MAX(id) FROM check_results)"),
        "content does not match its hash",
    ),
    "check deleted": (
        lambda db: db.execute("DELETE FROM check_results WHERE id = (SELECT MIN(id) FROM check_results)"),
        "content does not match its hash",
    ),
    "metrics edited": (
        lambda db: db.execute("UPDATE phase_runs SET metrics = '{\"x\": 1}' WHERE phase = 'measure'"),
        "(measure attempt 1, chain #2): content does not match its hash",
    ),
    "artifacts edited": (
        lambda db: db.execute("UPDATE phase_runs SET artifacts = '{}' WHERE phase = 'build'"),
        "(build attempt 1, chain #1): content does not match its hash",
    ),
    "status edited": (
        lambda db: db.execute("UPDATE phase_runs SET status = 'failed' WHERE phase = 'analyze'"),
        "(analyze attempt 1, chain #3): content does not match its hash",
    ),
    "message edited": (
        lambda db: db.execute("UPDATE phase_runs SET message = 'all good' WHERE phase = 'deploy'"),
        "(deploy attempt 1, chain #4): content does not match its hash",
    ),
    "version edited": (
        # a different first character whatever the commit's was (a hash starting with 'f' once hid the edit)
        lambda db: db.execute(
            "UPDATE releases SET version = (CASE WHEN substr(version, 1, 1) = 'f' THEN 'e' ELSE 'f' END)"
            " || substr(version, 2)"
        ),
        "content does not match its hash",
    ),
    "middle run deleted": (lambda db: _delete_run(db, "analyze"), "record #3 of the chain was deleted"),
    "last run deleted": (lambda db: _delete_run(db, "deploy"), "record #4 of the chain was deleted"),
    "release deleted": (
        lambda db: db.execute("PRAGMA foreign_keys = OFF") and db.execute("DELETE FROM releases"),
        "was deleted",
    ),
    "a record unchained": (
        lambda db: db.execute("UPDATE phase_runs SET chain_seq = NULL WHERE phase = 'deploy'"),
        "status passed but the record is not chained",
    ),
}


@pytest.mark.parametrize("name", list(ALWAYS_CAUGHT))
def test_the_chain_names_each_edit_and_deletion(service: Path, db: sqlite3.Connection, name: str) -> None:
    assert _problems(service) == ""
    tamper, expected = ALWAYS_CAUGHT[name]
    tamper(db)
    assert expected in _problems(service)


def test_truncation_with_the_chain_head_moved_back_is_caught_by_the_records_branch(
    service: Path, db: sqlite3.Connection
) -> None:
    """Guards: the last record deleted and ``chain_head`` moved back verified as intact."""
    _delete_run(db, "deploy")
    seq, prev = db.execute("SELECT chain_seq, hash FROM phase_runs WHERE phase = 'analyze'").fetchone()
    db.execute("UPDATE chain_head SET seq = ?, hash = ?", (seq, prev))
    problems = _problems(service)
    assert "deploy attempt 1: the record at bmad/records@" in problems
    assert "has no row in the ledger" in problems and "chain truncated" in problems
    proc = bmad("verify-ledger", cwd=service)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


def test_rechaining_with_bmads_own_functions_is_caught_by_the_records_branch(
    service: Path, db: sqlite3.Connection
) -> None:
    """Guards: one record edited and every later hash recomputed verified as intact."""
    db.execute("UPDATE phase_runs SET message = 'forged' WHERE phase = 'measure'")
    _rechain(service)
    assert "content does not match" not in _problems(service)  # the chain itself is consistent again
    assert "measure attempt 1: the ledger's row" in _problems(service)
    assert "(edited and re-chained)" in _problems(service)


def _rechain(service: Path) -> None:
    """Recompute every hash from the first record on, as an attacker with bmad's code would."""
    from sqlalchemy import select

    from bmad.engine.runner import open_ledger
    from bmad.ledger import chain
    from bmad.ledger.schema import ChainHeadRow, PhaseRunRow

    ledger = open_ledger(load_config(service / "bmad.yaml"))
    with ledger._parts.db.tx() as session:  # the SQLAlchemy side, as an attacker with bmad's code would
        previous = ""
        for row in session.scalars(select(PhaseRunRow).order_by(PhaseRunRow.chain_seq)).all():
            row.prev_hash = previous
            row.hash = chain_hash(previous, chain.content(row))
            previous = row.hash
        head = session.get(ChainHeadRow, 1)
        assert head is not None
        head.hash = previous
    ledger.close()


def test_an_emptied_ledger_is_caught_by_the_records_branch(service: Path, db: sqlite3.Connection) -> None:
    """Guards: the whole ledger emptied reported "0 record(s), hash chain intact"."""
    for table in ("check_results", "rollbacks", "phase_runs", "releases", "chain_head"):
        db.execute(f"DELETE FROM {table}")
    problems = _problems(service)
    assert problems.count("has no row in the ledger") == 4


def test_a_forged_running_row_is_never_chained_as_interrupted(service: Path, db: sqlite3.Connection) -> None:
    """Guards: a forged unchained ``running`` row became a chained ``interrupted`` record with its
    forged metrics at the next run or status."""
    release_id = db.execute("SELECT id FROM releases").fetchone()[0]
    db.execute(
        "INSERT INTO phase_runs (release_id, phase, attempt, status, started_at, metrics, artifacts, message, owner,"
        " pid, host) VALUES (?, 'deploy', 9, 'running', '2026-01-01 00:00:00.000000', ?, '{}', '', 'x:1:dead', 1, 'x')",
        (release_id, json.dumps({"deploy_success_rate": 100})),
    )
    release_status(service / "bmad.yaml", "dev")
    run_release(service / "bmad.yaml", "dev", phases=["build"], force=True, reason="next run")
    status, seq = db.execute("SELECT status, chain_seq FROM phase_runs WHERE attempt = 9").fetchone()
    assert (status, seq) == (PhaseStatus.RUNNING.value, None)
    assert "(deploy attempt 9): a running record bmad did not start (forged or edited)" in _problems(service)


def test_a_genuine_interrupted_run_is_still_chained(service: Path) -> None:
    """The seal does not stop bmad from chaining its own dead runs."""
    from bmad.engine.runner import open_ledger
    from bmad.ledger.procs import this_host

    cfg = load_config(service / "bmad.yaml")
    ledger = open_ledger(cfg)
    history = ledger.latest_release("hello", "dev")
    assert history is not None
    ledger.start_phase(history.release, PhaseName.MEASURE, owner=f"{this_host()}:999999:dead")
    assert [r.status for r in ledger.detect_interrupted("hello", "dev")] == [PhaseStatus.INTERRUPTED]
    ledger.close()
    assert _problems(service) == ""


def test_signed_anchors_refuse_a_rewritten_records_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``ledger.signing_key`` every record's chain hash is signed; a forged signature is named."""
    monkeypatch.setenv("LEDGER_KEY", "k3y-for-the-ledger-0123")
    service = make_service(tmp_path / "svc")
    text = (service / "bmad.yaml").read_text(encoding="utf-8")
    (service / "bmad.yaml").write_text(
        text.replace("ledger:\n", "ledger:\n  signing_key: {env: LEDGER_KEY}\n"), encoding="utf-8"
    )
    from tests.engine.support import git

    git(service, "commit", "-qam", "signing")
    assert run_release(service / "bmad.yaml", "dev", phases=["build"]).passed
    assert _problems(service) == ""
    record = git(service, "show", "bmad/records:" + _record_path(service))
    assert "ledger_signature:" in record
    monkeypatch.setenv("LEDGER_KEY", "another-key-entirely-99")
    assert "has a wrong signature (forged)" in _problems(service)


def _record_path(service: Path) -> str:
    from tests.engine.support import git

    return next(p for p in git(service, "ls-tree", "-r", "--name-only", "bmad/records").split() if p.endswith(".yaml"))
