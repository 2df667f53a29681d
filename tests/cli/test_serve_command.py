"""`bmad serve` through the real command line: it serves the board of the ledger it is pointed at,
refuses a port it cannot bind with exit 2, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from bmad.ledger import Ledger
from tests.helpers import free_port, interruptible, wait_for
from tests.serve.serve_data import fill


def _bmad(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "BMAD_LEDGER_URL"}
    return subprocess.Popen(
        [sys.executable, "-m", "bmad", "serve", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )


def _ledger_in(folder: Path) -> None:
    ledger = Ledger.open(None, state_dir=folder / ".bmad")
    fill(ledger)
    ledger.close()


def test_serve_shows_the_board_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    _ledger_in(tmp_path)
    port = free_port()
    server = _bmad("--port", str(port), cwd=tmp_path)
    try:

        def board() -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    return str(response.read().decode())
            except OSError:
                return None

        page = wait_for(board, timeout=30, what="the dashboard")
        assert "hello" in page and "<table" in page
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=20)
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_a_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    _ledger_in(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = _bmad("--port", str(port), cwd=tmp_path)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 2, stderr
    assert f"127.0.0.1:{port}" in stderr and "Traceback" not in stderr
