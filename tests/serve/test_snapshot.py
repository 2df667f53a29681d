"""The releases snapshot behind the board: reloaded while pages ask for it, paused when nobody does."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from bmad.ledger import Ledger
from bmad.serve.snapshot import ReleaseSnapshot
from tests.reports.reports_data import T0, Spec, record


def test_loading_pauses_when_idle_and_a_request_gets_a_fresh_load(sqlite_ledger: Ledger) -> None:
    closing = threading.Event()
    snapshot = ReleaseSnapshot(sqlite_ledger, interval=0.05, closing=closing, idle_seconds=0.5)
    snapshot.start()
    try:
        assert len(snapshot.views()) == 7
        time.sleep(1.5)  # nobody asks: the loader pauses
        paused_at = snapshot.loads
        time.sleep(1.0)
        assert snapshot.loads == paused_at
        record(sqlite_ledger, Spec("8" * 40, T0 + timedelta(days=5), (1, 1, 1, 1), service="late"))
        views = snapshot.views()  # after a pause: waits for a load that started after the request
        assert len(views) == 8 and views[-1].service == "late"
        assert snapshot.loads > paused_at
    finally:
        closing.set()
