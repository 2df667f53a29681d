"""The dashboard over ledgers written by real ``bmad run`` commands (SQLite and PostgreSQL), and a
release page in Chromium that follows a ``bmad run`` while it is in progress.

The service is the engine tests' scripted one (tests/engine/support.py): the real CLI in a
subprocess, the real engine and ledger, phases whose checks are scripted (one waits for a file,
so a run can be held in MEASURE while the page is watched).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bmad.ledger import Ledger
from tests.browser import CHROMIUM, chromium
from tests.engine.support import bmad, git, make_service, spawn
from tests.helpers import in_ci, wait_for
from tests.serve.conftest import Dashboard
from tests.serve.http_client import get_ok


@dataclass(frozen=True)
class Service:
    root: Path
    ledger_url: str  # BMAD_LEDGER_URL of every run, "" for the service's own .bmad/ledger.db

    @property
    def env(self) -> dict[str, str]:
        return {"BMAD_LEDGER_URL": self.ledger_url} if self.ledger_url else {}

    def open_ledger(self) -> Ledger:
        return Ledger.open(self.ledger_url or f"sqlite:///{self.root}/.bmad/ledger.db")

    def commit(self, text: str) -> str:
        (self.root / "app.py").write_text(f"print({text!r})\n", encoding="utf-8")
        git(self.root, "commit", "-q", "-am", text)
        return git(self.root, "rev-parse", "HEAD").strip()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    url = request.getfixturevalue("postgres_db") if request.param == "postgresql" else ""
    return Service(make_service(tmp_path / "svc"), url)


def _run(service: Service, *options: str) -> None:
    sets = [arg for option in options for arg in ("--set", option)]
    done = bmad("run", "-e", "dev", *sets, cwd=service.root, env=service.env, timeout=120)
    assert done.returncode in (0, 1), done.stdout + done.stderr


def test_the_board_and_pages_show_what_real_runs_recorded(
    service: Service, start_dashboard: Callable[..., Dashboard]
) -> None:
    """Two releases by ``bmad run``: the first deployed, the second rolled back by DEPLOY."""
    first = git(service.root, "rev-parse", "HEAD").strip()
    _run(service)
    second = service.commit("second")
    _run(service, "x_deploy_rollback=true")
    ledger = service.open_ledger()
    try:
        dashboard = start_dashboard(ledger)
        board = get_ok(dashboard.url + "/")
        assert f"serving <code>{first[:12]}</code>" in board  # the rolled-back release is not serving
        assert "b-rolled_back" in board and "b-success" in board
        second_id = dashboard.release_id("hello", "dev", second)
        page = get_ok(f"{dashboard.url}/release/{second_id}")
        assert "<code>deploy.c1</code>" in page and "Rollback" in page, re.sub(r"<[^>]+>", " ", page)[:3000]
        assert 'data-running="0"' in page and "finished: rolled_back" in page
        integrity = get_ok(dashboard.url + "/integrity")
        assert "Verified: the hash chain of" in integrity
    finally:
        ledger.close()


@pytest.mark.slow
def test_the_release_page_follows_a_bmad_run_in_progress(
    service: Service, start_dashboard: Callable[..., Dashboard], tmp_path: Path
) -> None:
    """A real ``bmad run`` held in MEASURE: the page shows it running, then (without a reload by
    the test) the finished release with the checks of every phase."""
    if not Path(CHROMIUM).exists() and not in_ci():
        pytest.skip("chromium is not installed")
    started, go = tmp_path / "measure-started", tmp_path / "go"
    holds = ("x_measure_checks=1", f"x_measure_marker={started}", f"x_measure_wait_for={go}")
    run = spawn("run", "-e", "dev", *[a for o in holds for a in ("--set", o)], cwd=service.root, env=service.env)
    ledger = service.open_ledger()
    try:
        wait_for(started.exists, timeout=60, what="MEASURE started")
        dashboard = start_dashboard(ledger)
        release_id = ledger.list_releases(limit=1)[0].id
        with chromium() as browser:
            page = browser.visit(f"{dashboard.url}/release/{release_id}", 1400)
            assert page.problems == [], page.problems
            assert "MEASURE running for" in page.body_text
            go.touch()
            out, err = run.communicate(timeout=90)
            assert run.returncode == 0, out + err
            text = browser.wait_text("finished: success", timeout=30)
            assert "deploy.c3" in text  # the page reloaded: the report lists DEPLOY's checks
            assert browser.problems() == []
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate(timeout=10)
        ledger.close()
