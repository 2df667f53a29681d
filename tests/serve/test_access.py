"""Who may read the dashboard: loopback by default; a token, compared in constant time, anywhere else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bmad.core.errors import UsageError
from bmad.ledger import Ledger
from bmad.serve import make_server
from bmad.serve.security import Access, read_token
from tests.helpers import REPO_ROOT, free_port, interruptible, wait_for
from tests.serve.conftest import Dashboard
from tests.serve.http_client import call

TOKEN = "s3cret-token-0123456789"


def test_listening_off_loopback_without_a_token_is_refused(sqlite_ledger: Ledger) -> None:
    with pytest.raises(UsageError, match=r"refusing to listen on 0\.0\.0\.0 without a token"):
        make_server(sqlite_ledger, "0.0.0.0", free_port())


def test_without_or_with_a_wrong_token_401(start_dashboard: Callable[..., Dashboard], sqlite_ledger: Ledger) -> None:
    dashboard = start_dashboard(sqlite_ledger, token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Cookie": "bmad_token=wrong"}, {"Cookie": "%%%;;"}):
        got = call(dashboard.url + "/", headers=headers)
        assert got.status == 401, headers
        assert got.headers["www-authenticate"] == "Bearer"
        assert "hello" not in got.body
    assert call(dashboard.url + "/?token=wrong").status == 401


def test_the_right_token_opens_the_dashboard(start_dashboard: Callable[..., Dashboard], sqlite_ledger: Ledger) -> None:
    dashboard = start_dashboard(sqlite_ledger, token=TOKEN)
    assert call(dashboard.url + "/", headers={"Authorization": f"Bearer {TOKEN}"}).status == 200
    # A browser: ?token= once sets an HttpOnly cookie and redirects to the URL without the token.
    first = call(dashboard.url + f"/metrics?service=hello&token={TOKEN}")
    assert first.status == 303 and first.headers["location"] == "/metrics?service=hello"
    assert first.headers["set-cookie"] == f"bmad_token={TOKEN}; HttpOnly; SameSite=Strict; Path=/"
    assert call(dashboard.url + "/metrics", headers={"Cookie": f"bmad_token={TOKEN}"}).status == 200
    # The redirect stays on this server whatever the path looks like.
    assert call(dashboard.url + f"//evil.example/x?token={TOKEN}").headers["location"] == "/evil.example/x"


def test_tokens_are_compared_in_constant_time() -> None:
    """The comparison is hmac.compare_digest's (timing-safe): equal only when every byte is."""
    access = Access.for_bind("0.0.0.0", 1, TOKEN)
    assert access.token_ok(TOKEN)
    assert not access.token_ok(TOKEN[:-1]) and not access.token_ok(TOKEN + "x") and not access.token_ok(None)
    assert access.host_ok("anything.example")  # a token guards it, not the host name


def test_token_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "token"
    file.write_text(TOKEN + "\n")
    assert read_token(file, None) == TOKEN
    monkeypatch.setenv("DASH_TOKEN", TOKEN)
    assert read_token(None, "DASH_TOKEN") == TOKEN
    assert read_token(None, None) is None
    with pytest.raises(UsageError, match="shorter than 16"):
        file.write_text("short")
        read_token(file, None)
    with pytest.raises(UsageError, match="only letters, digits"):
        file.write_text("0123456789abcdef; Path=/x\r\nX-Evil: 1")
        read_token(file, None)
    with pytest.raises(UsageError, match="NOT_SET_HERE"):
        read_token(None, "NOT_SET_HERE")


def _module(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bmad.serve", *args],
        cwd=cwd,
        env={
            **{k: v for k, v in os.environ.items() if k != "BMAD_LEDGER_URL"},
            "PYTHONPATH": str(REPO_ROOT / "src"),
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=interruptible,
    )


def test_python_m_bmad_serve_with_a_config(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    """The module entry serves the ledger named by --config, on 127.0.0.1, until SIGINT."""
    config = tmp_path / "bmad.yaml"
    config.write_text(f"service:\n  name: hello\nenvironments:\n  dev: {{}}\nledger:\n  url: {sqlite_ledger.url}\n")
    port = free_port()
    proc = _module(["--config", str(config), "--port", str(port)], tmp_path, {})
    try:
        wait_for(lambda: _answers(port), timeout=30, what="python -m bmad.serve to answer")
        page = call(f"http://127.0.0.1:{port}/").body
        assert "<th>prod</th>" in page and "hello" in page
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert f"bmad serve: http://127.0.0.1:{port}/ (ledger: sqlite)" in out


def test_python_m_bmad_serve_refuses_usage_errors(tmp_path: Path) -> None:
    """Exit code 2 and a message: off loopback without a token, no ledger, a missing --config file."""
    off_loopback = _module(["--host", "0.0.0.0", "--port", str(free_port())], tmp_path, {})
    out, _ = off_loopback.communicate(timeout=30)
    assert off_loopback.returncode == 2 and "refusing to listen on 0.0.0.0 without a token" in out
    no_ledger = _module(["--port", str(free_port())], tmp_path, {})
    out, _ = no_ledger.communicate(timeout=30)
    assert no_ledger.returncode == 2 and "no ledger here" in out
    missing = _module(["--config", str(tmp_path / "nope.yaml")], tmp_path, {})
    out, _ = missing.communicate(timeout=30)
    assert missing.returncode == 2 and "config file not found" in out


def _answers(port: int) -> bool:
    try:
        return call(f"http://127.0.0.1:{port}/").status == 200
    except OSError:
        return False
