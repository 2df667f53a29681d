"""Two checkouts with separate SQLite ledgers cannot deploy one service and environment to the
same local target at once (issue 19): DEPLOY holds a lock on the target itself."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from bmad.core.errors import ExitCode
from tests.engine.support import bmad, make_service, spawn


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, "the first deploy never started"
        time.sleep(0.05)


def test_a_second_checkout_cannot_deploy_while_the_first_does(tmp_path: Path) -> None:
    """Guards: a lock in each checkout's own ledger let both deploy the same service at once."""
    first = make_service(tmp_path / "checkout-a")
    second = make_service(tmp_path / "checkout-b")
    marker = tmp_path / "deploying"
    env = {"BMAD_TARGET_LOCK_DIR": str(tmp_path / "locks"), "DOCKER_HOST": "unix:///run/shared-engine.sock"}
    holder = spawn(
        "run", "-e", "dev", "--set", "x_deploy_sleep=60", "--set", f"x_deploy_marker={marker}", cwd=first, env=env
    )
    try:
        _wait_for(marker)
        refused = bmad("run", "-e", "dev", cwd=second, env=env)
        assert refused.returncode == ExitCode.GATE_FAILED, refused.stdout + refused.stderr
        assert "local target of hello/dev is being deployed by" in refused.stderr
        assert f"pid {holder.pid}" in refused.stderr and "Traceback" not in refused.stderr
        other_engine = bmad("run", "-e", "dev", cwd=second, env={**env, "DOCKER_HOST": "unix:///run/other.sock"})
        assert other_engine.returncode == 0, other_engine.stderr  # another engine is another target
    finally:
        holder.send_signal(signal.SIGKILL)  # a dead holder: the kernel frees its lock
        holder.wait(timeout=30)
    after = bmad("deploy", "-e", "dev", "--force", "--reason", "after the kill", cwd=second, env=env)
    assert after.returncode == 0, after.stdout + after.stderr
