"""The dashboard over a PostgreSQL ledger (skipped without a PostgreSQL server, see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bmad.core.models import PhaseName
from bmad.ledger import Ledger
from tests.reports.reports_data import NOW, SPECS
from tests.serve.conftest import Dashboard
from tests.serve.http_client import get_ok
from tests.serve.serve_data import LIVE_RELEASE, fill, passed
from tests.serve.sse import EventStream

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_ledger(postgres_db: str) -> Iterator[Ledger]:
    ledger = Ledger.open(postgres_db, clock=lambda: NOW)
    fill(ledger)
    yield ledger
    ledger.close()


def test_every_page_and_a_live_update_over_postgresql(
    start_dashboard: Callable[..., Dashboard], pg_ledger: Ledger
) -> None:
    dashboard = start_dashboard(pg_ledger)
    board = get_ok(dashboard.url + "/")
    assert "<th>prod</th>" in board and "Latest releases (7 shown)" in board
    c_id = dashboard.release_id("hello", "dev", SPECS[2].version)
    assert "Time to restore" in get_ok(f"{dashboard.url}/release/{c_id}")
    assert "75%" in get_ok(dashboard.url + "/metrics?service=hello&environment=dev")
    integrity = get_ok(dashboard.url + "/integrity")
    assert "Verified: the hash chain of" in integrity and "Database: postgresql" in integrity

    run_id = pg_ledger.start_phase(LIVE_RELEASE, PhaseName.BUILD, started_at=passed(PhaseName.BUILD, 0, 0).started_at)
    release_id = dashboard.release_id("hello", "staging", LIVE_RELEASE.version)
    dashboard.settle()
    stream = EventStream(f"{dashboard.url}/events/release/{release_id}")
    try:
        assert stream.next_event()[1]["running"] == "BUILD"
        pg_ledger.finish_phase(run_id, passed(PhaseName.BUILD, 0, 3))
        assert stream.next_event()[1]["phases"][0]["status"] == "passed"
    finally:
        stream.close()
