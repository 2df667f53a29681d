"""The dashboard in headless Chromium: no console error, nothing fetched from elsewhere, no horizontal
overflow at 1,400 and 800 px, and a release page that follows a running release."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bmad.core.models import PhaseName
from tests.browser import CHROMIUM, Visit, chromium
from tests.helpers import in_ci
from tests.reports.reports_data import SPECS
from tests.serve.conftest import Dashboard
from tests.serve.serve_data import LIVE_RELEASE, fill_weeks, passed

pytestmark = pytest.mark.slow
SHOTS_VARIABLE = "BMAD_SERVE_SCREENSHOTS"  # a folder to keep the screenshots in (CI artifacts)


@pytest.fixture(autouse=True)
def _need_chromium() -> None:
    if not Path(CHROMIUM).exists() and not in_ci():
        pytest.skip("chromium is not installed")


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: ``$BMAD_SERVE_SCREENSHOTS`` (.ci/run sets it), else the test's tmp dir."""
    folder = Path(os.environ.get(SHOTS_VARIABLE) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _check(visit: Visit, base: str, name: str, shots: Path) -> None:
    assert visit.problems == [], (visit.url, visit.width, visit.problems)
    outside = [r for r in visit.requests if not r.startswith(base) and not r.startswith("data:")]
    assert outside == [], outside
    assert visit.scroll_width <= visit.client_width, (visit.url, visit.width, visit.scroll_width)
    assert visit.screenshot.startswith(b"\x89PNG")
    (shots / f"{name}-{visit.width}.png").write_bytes(visit.screenshot)


def test_board_release_metrics_and_integrity_render_cleanly(dashboard: Dashboard, shots: Path) -> None:
    fill_weeks(dashboard.ledger)
    dashboard.settle()
    c_id = dashboard.release_id("hello", "dev", SPECS[2].version)
    pages = {
        "board": "/",
        "release": f"/release/{c_id}",
        "metrics": "/metrics?service=api&environment=prod",
        "integrity": "/integrity",
        "runbook": f"/release/{c_id}/runbook",
    }
    with chromium() as browser:
        for width in (1400, 800):
            for name, path in pages.items():
                visit = browser.visit(dashboard.url + path, width)
                _check(visit, dashboard.url, name, shots)
        board = browser.visit(dashboard.url + "/", 1400)
    assert "Releases board" in board.body_text and "serving" in board.body_text
    assert any(r.endswith("/static/live.js") for r in board.requests)
    assert any("/events/board" in r for r in board.requests)  # the live script is running


def test_the_release_page_follows_a_running_release(dashboard: Dashboard, shots: Path) -> None:
    ledger = dashboard.ledger
    ledger.record_phase(LIVE_RELEASE, passed(PhaseName.BUILD, 0, 3))
    run_id = ledger.start_phase(LIVE_RELEASE, PhaseName.MEASURE, started_at=passed(PhaseName.MEASURE, 3, 0).started_at)
    release_id = dashboard.release_id("hello", "staging", LIVE_RELEASE.version)
    dashboard.settle()
    with chromium() as browser:
        first = browser.visit(f"{dashboard.url}/release/{release_id}", 1400)
        _check(first, dashboard.url, "release-running", shots)
        assert "MEASURE running for" in first.body_text
        ledger.finish_phase(run_id, passed(PhaseName.MEASURE, 3, 2))
        text = browser.wait_text("finished: incomplete", timeout=20)
        assert "measure.live" in text  # the page reloaded: the report now lists MEASURE's checks
        assert browser.problems() == []


def test_a_page_loaded_between_two_phases_reloads_when_the_run_has_ended(dashboard: Dashboard) -> None:
    """Guards the race behind a flaky real-run test: a page that reloaded between two phases (no phase
    running) and whose stream then saw the run already ended kept its old report, as the script
    reloaded only pages rendered while a phase was running."""
    ledger = dashboard.ledger
    ledger.record_phase(LIVE_RELEASE, passed(PhaseName.BUILD, 0, 3))  # between BUILD and MEASURE
    release_id = dashboard.release_id("hello", "staging", LIVE_RELEASE.version)
    dashboard.settle()
    with chromium() as browser:
        first = browser.visit(f"{dashboard.url}/release/{release_id}", 1400)
        assert "finished: incomplete" in first.body_text and "measure.live" not in first.body_text
        for at, phase in enumerate((PhaseName.MEASURE, PhaseName.ANALYZE, PhaseName.DEPLOY), start=1):
            ledger.record_phase(LIVE_RELEASE, passed(phase, 3 * at, 2))
        text = browser.wait_text("analyze.live", timeout=20)  # the page reloaded: its report lists ANALYZE's checks
        assert "finished: success" in text
        assert browser.problems() == []


def test_chromium_is_the_system_one() -> None:
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
