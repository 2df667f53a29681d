"""One PostgreSQL ledger shared by a team's pipelines (issue 15 item 2): eight real ``bmad run``
processes at once on a new database, a same-environment pair, a runner killed with SIGKILL."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text

from bmad.ledger.reader import HEAD_REVISION
from tests.engine.support import CONFIG, bmad, bmad_argv, cli_env, git, spawn
from tests.helpers import wait_for

# One cheap check per phase: the test is about the ledger, not the phases.
CHEAP = [arg for phase in ("build", "measure", "analyze", "deploy") for arg in ("--set", f"x_{phase}_checks=1")]


def _service(root: Path, name: str, *, lease: float = 30.0) -> Path:
    """A git repo of service ``name`` whose phases are the scripted test phases."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "bmad.yaml").write_text(CONFIG.format(lease=lease).replace("name: hello", f"name: {name}"), "utf-8")
    (root / "app.py").write_text(f"print({str(root)!r})\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial commit")
    return root


def _ci(env: dict[str, str], actor: str) -> dict[str, str]:
    """``env`` as a GitHub Actions job started by a push of ``actor`` would have it."""
    return {**env, "GITHUB_ACTOR": actor, "GITLAB_USER_LOGIN": "", "GITHUB_EVENT_NAME": "push"}


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())


@pytest.mark.postgres
def test_eight_runs_at_once_share_one_ledger(tmp_path: Path, postgres_db: str) -> None:
    """Guards the shared ledger: eight pipelines start together on a database no one migrated yet;
    of two checkouts of one service and environment exactly one deploys, the other is refused with
    the lock message; no record is lost or duplicated and the hash chain verifies."""
    env = {"BMAD_LEDGER_URL": postgres_db}
    go = tmp_path / "go"
    services = [_service(tmp_path / f"svc-{n}", f"svc-{n}") for n in range(6)]
    pair = [_service(tmp_path / f"hello-{n}", "hello") for n in range(2)]
    hold = ["--set", f"x_build_wait_for={go}"]  # the pair keeps the lock until the others are done
    repos = [*services, *pair]
    runs = [
        spawn("run", "-e", "dev", *CHEAP, *(hold if repo in pair else []), cwd=repo, env=_ci(env, f"actor-{n}"))
        for n, repo in enumerate(repos)
    ]
    outputs = [proc.communicate(timeout=300) for proc in runs[:6]]
    assert [proc.returncode for proc in runs[:6]] == [0] * 6, outputs
    refused = wait_for(lambda: [proc for proc in runs[6:] if proc.poll() is not None], timeout=120, what="refusal")
    go.write_text("go", encoding="utf-8")
    pair_out = {proc.pid: proc.communicate(timeout=120) for proc in runs[6:]}
    assert sorted(proc.returncode for proc in runs[6:]) == [0, 1], pair_out
    assert len(refused) == 1 and refused[0].returncode == 1
    assert "hello/dev is locked by another bmad run" in pair_out[refused[0].pid][1]
    assert _rows(postgres_db, "SELECT count(*) FROM releases") == [(7,)]
    assert _rows(postgres_db, "SELECT status, count(*) FROM phase_runs GROUP BY status") == [("passed", 28)]
    seqs = _rows(postgres_db, "SELECT chain_seq FROM phase_runs ORDER BY chain_seq")
    assert [seq for (seq,) in seqs] == list(range(1, 29))
    assert _rows(postgres_db, "SELECT seq FROM chain_head") == [(28,)]
    who = _rows(
        postgres_db, "SELECT r.service, p.actor, p.ci_trigger FROM phase_runs p JOIN releases r ON r.id = p.release_id"
    )
    deployed = runs.index(next(proc for proc in runs[6:] if proc.returncode == 0))
    assert set(who) == {(f"svc-{n}", f"actor-{n}", "push") for n in range(6)} | {("hello", f"actor-{deployed}", "push")}
    verify = bmad("verify-ledger", cwd=services[0], env=env)
    assert verify.returncode == 0 and "28 record(s), hash chain intact" in verify.stdout, verify.stdout


@pytest.mark.postgres
def test_a_killed_runner_lock_expires_by_heartbeat(tmp_path: Path, postgres_db: str) -> None:
    """Guards against a runner killed with SIGKILL on another machine blocking its environment
    forever: its lock is no longer renewed, the lease runs out and a waiting run takes over."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-u", "true"], check=False).returncode:
        pytest.skip("needs 'unshare -u' to run the first runner as another host")
    env = {"BMAD_LEDGER_URL": postgres_db}
    service = _service(tmp_path / "hello", "hello", lease=20.0)
    marker = tmp_path / "started"
    argv = bmad_argv("run", "-e", "dev", *CHEAP, "--set", "x_build_sleep=120", "--set", f"x_build_marker={marker}")
    # Another host (a UTS namespace of its own): its pid means nothing here, only the lease counts.
    other_host = ["unshare", "-u", "sh", "-c", 'hostname ci-runner-2 && exec "$@"', "sh", *argv]
    holder = subprocess.Popen(other_host, cwd=service, env=cli_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(marker.exists, timeout=120, what="the first runner's BUILD started")
        assert _rows(postgres_db, "SELECT host FROM locks") == [("ci-runner-2",)]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)
    waiter = bmad("run", "-e", "dev", "--wait", *CHEAP, cwd=service, env=env, timeout=120)
    assert waiter.returncode == 0, waiter.stdout + waiter.stderr
    assert "waiting: dev is locked by pid" in waiter.stderr and "on ci-runner-2" in waiter.stderr
    builds = _rows(postgres_db, "SELECT attempt, status, host FROM phase_runs WHERE phase = 'build' ORDER BY id")
    assert [row[:2] for row in builds] == [(1, "interrupted"), (2, "passed")]
    assert builds[0][2] == "ci-runner-2"
    assert bmad("verify-ledger", cwd=service, env=env).returncode == 0


# Four processes open the same new database at the same moment (they wait for one file, then open).
_OPEN = """
import sys, time
from pathlib import Path
from bmad.ledger import Ledger
while not Path(sys.argv[2]).exists():
    time.sleep(0.005)
with Ledger.open(sys.argv[1]) as ledger:
    print(len(ledger.list_releases()))
"""


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_processes_migrating_a_new_database_at_once_all_succeed(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Guards the first open of a shared ledger: migrations run under PostgreSQL's advisory lock or
    SQLite's BEGIN IMMEDIATE, so racing processes neither fail nor migrate twice."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_db")
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", _OPEN, url, str(go)], env=cli_env(), stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    time.sleep(1.0)  # let every interpreter reach the wait
    go.write_text("go", encoding="utf-8")
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4 and outputs == ["0\n"] * 4
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD_REVISION,)]
    engine.dispose()
