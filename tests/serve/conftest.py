"""A real dashboard on a free port over a ledger of known releases (SQLite, or PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bmad.ledger import Ledger
from bmad.serve import make_server
from bmad.serve.server import DashboardServer
from tests.helpers import free_port
from tests.reports.reports_data import NOW
from tests.serve.serve_data import fill


@dataclass
class Dashboard:
    server: DashboardServer
    ledger: Ledger

    @property
    def url(self) -> str:
        return self.server.url.rstrip("/")

    def settle(self) -> None:
        """Wait until the dashboard's snapshot of the ledger holds what the test just wrote."""
        self.server.snapshot.wait_fresh()

    def release_id(self, service: str, environment: str, version: str) -> int:
        history = self.ledger.get_release(service, environment, version)
        assert history is not None
        return history.id


@pytest.fixture
def start_dashboard() -> Iterator[Callable[..., Dashboard]]:
    """Start a dashboard over a ledger (``token`` guards it when given); all stop at the test's end."""
    running: list[tuple[DashboardServer, threading.Thread]] = []

    def start(ledger: Ledger, *, token: str | None = None) -> Dashboard:
        server = make_server(ledger, "127.0.0.1", free_port(), token=token, poll_seconds=0.05)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread))
        return Dashboard(server, ledger)

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger.open(f"sqlite:///{tmp_path}/ledger.db", clock=lambda: NOW)
    fill(ledger)
    yield ledger
    ledger.close()


@pytest.fixture
def dashboard(start_dashboard: Callable[..., Dashboard], sqlite_ledger: Ledger) -> Dashboard:
    return start_dashboard(sqlite_ledger)
