"""What keeps the dashboard fast with a large ledger: kept pages, and no Nagle delay on small answers."""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bmad.core.models import PhaseName, PhaseResult, PhaseStatus
from bmad.ledger import Ledger
from tests.reports.reports_data import NOW, SPECS
from tests.serve.conftest import Dashboard
from tests.serve.http_client import get_ok
from tests.serve.serve_data import LIVE_RELEASE, fill, passed


def test_a_page_is_kept_until_the_minute_turns_or_the_ledger_changes(
    start_dashboard: Callable[..., Dashboard], tmp_path: Path
) -> None:
    """Guards the page cache: its ages stay right to the minute, and nothing recorded is missed."""
    clock = [NOW + timedelta(seconds=5)]
    ledger = Ledger.open(f"sqlite:///{tmp_path}/ledger.db", clock=lambda: clock[0])
    try:
        fill(ledger)
        ledger.record_phase(
            LIVE_RELEASE, PhaseResult(PhaseName.BUILD, PhaseStatus.PASSED, started_at=NOW, finished_at=NOW)
        )
        dashboard = start_dashboard(ledger)
        first = get_ok(dashboard.url + "/")
        assert "5 s ago" in first
        clock[0] += timedelta(seconds=40)  # same minute: the kept page, byte for byte
        assert get_ok(dashboard.url + "/") == first
        clock[0] += timedelta(seconds=20)  # the minute turned: rendered again
        assert "1 min ago" in get_ok(dashboard.url + "/")
        ledger.record_phase(LIVE_RELEASE, passed(PhaseName.MEASURE, 0, 1))
        dashboard.settle()  # something was recorded: rendered again within the minute
        fingerprint = re.compile(r'data-fingerprint="(\w+)"')
        assert fingerprint.findall(get_ok(dashboard.url + "/")) != fingerprint.findall(first)
        release_id = dashboard.release_id("hello", "dev", SPECS[0].version)
        page = get_ok(f"{dashboard.url}/release/{release_id}")
        assert get_ok(f"{dashboard.url}/release/{release_id}") == page
    finally:
        ledger.close()


def test_small_answers_on_a_kept_alive_connection_are_not_delayed(dashboard: Dashboard) -> None:
    """Guards TCP_NODELAY: headers and body are two writes, and with Nagle's algorithm each small
    answer waited ~40 ms for the client's delayed ACK (20 requests took over 800 ms)."""
    conn = http.client.HTTPConnection("127.0.0.1", int(dashboard.url.rsplit(":", 1)[1]), timeout=30)
    try:
        started = time.perf_counter()
        for _ in range(20):
            conn.request("GET", "/static/serve.css")
            answer = conn.getresponse()
            assert answer.status == 200 and answer.read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    assert elapsed < 0.6, f"20 small answers took {elapsed * 1000:.0f} ms"
