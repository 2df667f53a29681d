"""The real ``bmad`` command on a terminal and in a pipe: what it loads and that it finishes."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.support import bmad_argv, cli_env, make_service

_LOADED = (
    "import sys; from bmad.cli.main import main; code = main(sys.argv[1:]); "
    "print(*sorted(sys.modules), file=sys.stderr); sys.exit(code)"
)


@pytest.fixture
def service(tmp_path: Path) -> Path:
    return make_service(tmp_path / "svc")


def _run_on_a_terminal(args: list[str], cwd: Path, timeout: float = 60) -> tuple[int, str]:
    """``bmad <args>`` with stdin, stdout and stderr on a pseudo-terminal: exit code and the screen."""
    master, slave = pty.openpty()
    env = cli_env({"COLUMNS": "100", "TERM": "xterm"})
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(bmad_argv(*args), cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the command is done
                break
            if not data:
                break
            chunks.append(data)
        return proc.wait(timeout=max(deadline - time.monotonic(), 1)), b"".join(chunks).decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_phase_on_a_terminal_finishes_and_prints_its_table(service: Path) -> None:
    """On a terminal every phase command ended in an internal error (exit 4): the live progress
    display formatted a task's missing total as a number (issue 13)."""
    code, screen = _run_on_a_terminal(["build", "-e", "dev"], service)
    assert code == 0, screen
    assert "internal error" not in screen and "Traceback" not in screen
    assert "\x1b[1mBUILD\x1b[0m \x1b[32mpassed\x1b[0m" in screen  # styled on a terminal
    assert "build.c1" in screen and "passed" in screen


@pytest.mark.parametrize(
    "args",
    [["build", "-e", "dev"], ["status", "-e", "dev"], ["history", "-e", "dev"], ["metrics"], ["verify-ledger"]],
    ids=lambda args: args[0],
)
def test_commands_in_a_pipe_do_not_load_rich(service: Path, args: list[str]) -> None:
    """Guards issue 13: printing a phase, the status, history and metrics imported Rich (35-90 ms)."""
    if args[0] != "build":
        subprocess.run(bmad_argv("build", "-e", "dev"), cwd=service, env=cli_env(), capture_output=True, check=True)
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED, *args], cwd=service, env=cli_env(), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert "rich" not in {name.split(".")[0] for name in proc.stderr.split()}
