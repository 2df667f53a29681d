"""The local target's lock file: renewed while held, freed when its holder is killed (issue 19)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bmad.adapters.targets.local.target_lock import LOCK_DIR_ENV, hold_target_lock, lock_path
from bmad.core.errors import LockHeld

ROOT = Path(__file__).resolve().parents[3]
HOLD = """
import time
from bmad.adapters.targets.local.target_lock import hold_target_lock
with hold_target_lock("engine-x", "shop", "prod", owner="doomed", lease_seconds=30):
    print("held", flush=True)
    time.sleep(600)
"""


def _expires(path: Path) -> datetime:
    return datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["expires"])


def test_the_heartbeat_moves_the_expiry_while_the_lock_is_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards: the expiry was written once, so a deploy longer than the lease showed its holder as expired."""
    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path))
    with hold_target_lock("engine-x", "shop", "prod", owner="me", lease_seconds=0.6) as held:
        path = held.path
        first = _expires(path)
        time.sleep(1.5)  # more than twice the lease
        assert _expires(path) > first
        assert _expires(path) > datetime.now(UTC)


def test_a_holder_killed_with_sigkill_frees_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards: a holder killed mid-deploy must not block the next run (the kernel drops its flock)."""
    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD], cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = hold_target_lock("engine-x", "shop", "prod", owner="next", lease_seconds=30)
        with pytest.raises(LockHeld, match=f"doomed \\(pid {holder.pid}"), refused:
            pass
    finally:
        holder.kill()  # SIGKILL: no cleanup runs in the holder
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
    with hold_target_lock("engine-x", "shop", "prod", owner="next", lease_seconds=30) as held:
        path = held.path
        assert path == lock_path("engine-x", "shop", "prod")
        assert json.loads(path.read_text(encoding="utf-8"))["owner"] == "next"


def test_a_lock_file_replaced_under_a_holder_is_reported_lost_naming_the_new_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards issue 19: a holder whose lock file was removed (another run then locked a new one) went on
    deploying as if it still held the target."""
    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path))
    with hold_target_lock("engine-x", "shop", "prod", owner="first", lease_seconds=30) as first:
        assert first.lost() is None
        first.path.unlink()
        with hold_target_lock("engine-x", "shop", "prod", owner="second", lease_seconds=30) as second:
            assert second.lost() is None
            lost = first.lost()
            assert lost is not None and "was removed or replaced; it is now held by second (pid" in lost
            assert not first.renew()  # the heartbeat stops: it never writes over the new holder's record
            assert json.loads(first.path.read_text(encoding="utf-8"))["owner"] == "second"
