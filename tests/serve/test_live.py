"""Live updates: server-sent events while phases are recorded in the ledger."""

from __future__ import annotations

from bmad.core.models import PhaseName
from tests.serve.conftest import Dashboard
from tests.serve.http_client import call, get_ok
from tests.serve.serve_data import LIVE_RELEASE, passed
from tests.serve.sse import EventStream


def test_a_running_release_streams_its_phase_then_its_result(dashboard: Dashboard) -> None:
    """A phase started and finished while a client watches: the client sees it running, then passed."""
    ledger = dashboard.ledger
    ledger.record_phase(LIVE_RELEASE, passed(PhaseName.BUILD, 0, 3))
    run_id = ledger.start_phase(LIVE_RELEASE, PhaseName.MEASURE, started_at=passed(PhaseName.MEASURE, 3, 0).started_at)
    release_id = dashboard.release_id("hello", "staging", LIVE_RELEASE.version)
    dashboard.settle()

    page = get_ok(f"{dashboard.url}/release/{release_id}")
    assert 'data-running="1"' in page and "MEASURE running for" in page

    stream = EventStream(f"{dashboard.url}/events/release/{release_id}")
    try:
        name, first = stream.next_event()
        assert name == "release"
        assert first["running"] == "MEASURE" and first["ended"] is False
        assert first["outcome"] == "incomplete"
        assert [p["status"] for p in first["phases"]] == ["passed", "running", "pending", "pending"]
        assert first["last_check"] == "BUILD build.live: pass"

        ledger.finish_phase(run_id, passed(PhaseName.MEASURE, 3, 2))
        _, second = stream.next_event()
        assert second["running"] is None and second["ended"] is True
        assert [p["status"] for p in second["phases"]] == ["passed", "passed", "pending", "pending"]
        assert second["phases"][1]["duration"] == "2 min"
        assert second["last_check"] == "MEASURE measure.live: pass"
    finally:
        stream.close()


def test_the_board_stream_announces_every_change(dashboard: Dashboard) -> None:
    stream = EventStream(f"{dashboard.url}/events/board")
    try:
        name, first = stream.next_event()
        assert name == "board"
        board = get_ok(dashboard.url + "/")
        assert f'data-fingerprint="{first["fingerprint"]}"' in board
        dashboard.ledger.record_phase(LIVE_RELEASE, passed(PhaseName.BUILD, 0, 3))
        _, second = stream.next_event()
        assert second["fingerprint"] != first["fingerprint"]
    finally:
        stream.close()


def test_head_of_a_stream_sends_only_headers(dashboard: Dashboard) -> None:
    got = call(f"{dashboard.url}/events/board", "HEAD")
    assert got.status == 200 and got.body == ""
    assert got.headers["content-type"].startswith("text/event-stream")
