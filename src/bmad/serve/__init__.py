"""``bmad serve``: a live, read-only web dashboard of every service, environment and release.

Pages (GET/HEAD only; every other method is answered 405):

* ``/`` the board: services × environments (``?service=&environment=&outcome=`` filter it)
* ``/release/<id>`` the release's HTML report with a live panel; ``/release/<id>/runbook``,
  ``/checklist``, ``/rollback-plan``
* ``/metrics`` framework metrics and DORA keys per week (``?service=&environment=``)
* ``/integrity`` the ledger's hash-chain verification
* ``/events/board``, ``/events/release/<id>`` server-sent events for the live updates

Library entry: :func:`serve` (blocks), or :func:`make_server` (tests run it in a thread).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from bmad.core.errors import UsageError

if TYPE_CHECKING:
    from bmad.engine.runner import Ledger
    from bmad.serve.server import DashboardServer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_CONFIG = Path("bmad.yaml")


def open_configured_ledger(config_path: Path | None) -> Ledger:
    """The ledger of ``config_path`` (default ``./bmad.yaml`` when it exists), else ``BMAD_LEDGER_URL``
    or ``./.bmad/ledger.db``."""
    from bmad.config.loader import load_config
    from bmad.engine.opening import open_ledger, open_ledger_at

    path = config_path if config_path is not None else DEFAULT_CONFIG
    if path.exists() or config_path is not None:
        return open_ledger(load_config(path))  # a missing --config file raises the ConfigError naming it
    if not os.environ.get("BMAD_LEDGER_URL") and not Path(".bmad/ledger.db").exists():
        raise UsageError(
            "no ledger here: no bmad.yaml, no .bmad/ledger.db and BMAD_LEDGER_URL is not set",
            hint="run in the service's folder, pass --config path/to/bmad.yaml, or set BMAD_LEDGER_URL",
        )
    return open_ledger_at(None, Path(".bmad"))


def make_server(
    ledger: Ledger,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    token: str | None = None,
    poll_seconds: float = 1.0,
) -> DashboardServer:
    """A bound (not yet serving) dashboard over ``ledger``; refuses a non-loopback ``host`` without ``token``."""
    from bmad.serve.security import Access, require_safe_bind
    from bmad.serve.server import DashboardServer

    require_safe_bind(host, token)
    return DashboardServer((host, port), ledger, Access.for_bind(host, port, token), poll_seconds=poll_seconds)


def serve(
    config_path: Path | None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    token_file: Path | None = None,
    token_env: str | None = None,
    announce: bool = True,
) -> None:
    """Serve the dashboard of the configured ledger until interrupted (Ctrl-C ends it cleanly)."""
    from bmad.serve.security import read_token, require_safe_bind

    token = read_token(token_file, token_env)
    require_safe_bind(host, token)
    ledger = open_configured_ledger(config_path)
    try:
        server = make_server(ledger, host, port, token=token)
        try:
            if announce:
                print(f"bmad serve: {server.url} (ledger: {ledger.dialect}); Ctrl-C stops it", flush=True)
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.closing.set()
            server.server_close()
    finally:
        ledger.close()


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "make_server", "open_configured_ledger", "serve"]
