"""The local target's own lock: one deployment of a service and environment per container engine.

The ledger's lock only orders runs that share a ledger; two checkouts with their own SQLite
ledgers deploy to the same engine. So DEPLOY on the local target also takes an exclusive
``flock`` on ``<lock dir>/<engine>-<service>-<environment>.lock``, keyed by the engine's address.
The file names its holder (owner, pid, since, expires); a heartbeat moves ``expires`` forward every
third of the lease while the deploy runs, so the record never shows a live holder as expired. The
kernel drops the lock when the holding process ends, however it ends (SIGKILL included), so a dead
holder never blocks the next run. While held, :meth:`LocalTargetLock.lost` says whether the lock file
was removed or replaced (another run then locks a new file) or could not be renewed within the lease.

The lock folder is ``BMAD_TARGET_LOCK_DIR``, else ``$XDG_RUNTIME_DIR/bmad-target-locks``, else
``<temp>/bmad-target-locks-<uid>``: runs of one user on one machine see each other's locks.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bmad.core.datatypes import datatype
from bmad.core.errors import LockHeld
from bmad.core.files import make_dirs

from ..heartbeat import Heartbeat

LOCK_DIR_ENV = "BMAD_TARGET_LOCK_DIR"
_POLL_SECONDS = 0.2


def lock_dir() -> Path:
    configured = os.environ.get(LOCK_DIR_ENV)
    if configured:
        return Path(configured)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "bmad-target-locks"
    return Path(tempfile.gettempdir()) / f"bmad-target-locks-{os.getuid()}"


def lock_path(engine: str, service: str, environment: str) -> Path:
    key = hashlib.sha256(engine.encode()).hexdigest()[:12]
    return lock_dir() / f"{key}-{service}-{environment}.lock"


@datatype
class LocalTargetLock:
    """The held lock file: renewed by the heartbeat, and able to say when it stopped being this run's."""

    path: Path
    fd: int
    owner: str
    lease_seconds: float
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    renewed_at: float = field(default_factory=time.monotonic)  # monotonic time of the last good renewal
    replaced: bool = False

    def renew(self) -> bool:
        """Move the record's expiry forward; False once the file at ``path`` is no longer ours."""
        if not self._still_ours():
            self.replaced = True
            return False
        _write_holder(self.fd, self.owner, self.since, self.lease_seconds)
        self.renewed_at = time.monotonic()
        return True

    def _still_ours(self) -> bool:
        try:
            return self.path.stat().st_ino == os.fstat(self.fd).st_ino
        except FileNotFoundError:
            return False

    def lost(self) -> str | None:
        """Why this run no longer holds the lock (file removed or replaced, not renewed in time), else None."""
        if self.replaced or not self._still_ours():
            return f"the lock file {self.path} was removed or replaced; it is now held by {_holder(self.path)}"
        late = time.monotonic() - self.renewed_at
        if late > self.lease_seconds:
            return f"the lock file {self.path} could not be renewed for {late:.0f} s (lease {self.lease_seconds:g} s)"
        return None


@contextlib.contextmanager
def hold_target_lock(
    engine: str, service: str, environment: str, *, owner: str, lease_seconds: float, wait_seconds: float = 0.0
) -> Iterator[LocalTargetLock]:
    """Hold the target's lock while the block runs; :class:`LockHeld` names the holder when another
    process keeps it past ``wait_seconds``."""
    path = lock_path(engine, service, environment)
    make_dirs(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _take(fd, path, service, environment, wait_seconds)
        held = LocalTargetLock(path, fd, owner, lease_seconds)
        _write_holder(fd, owner, held.since, lease_seconds)
        with Heartbeat(held.renew, lease_seconds / 3):
            yield held
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _take(fd: int, path: Path, service: str, environment: str, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockHeld(
                    f"the local target of {service}/{environment} is being deployed by {_holder(path)}",
                    hint=f"wait for that run to end (lock file {path}); it is freed when its process ends",
                ) from None
            time.sleep(_POLL_SECONDS)


def _write_holder(fd: int, owner: str, since: datetime, lease_seconds: float) -> None:
    """The holder record, its expiry ``lease_seconds`` from now (renewed by the heartbeat)."""
    holder = {
        "owner": owner,
        "pid": os.getpid(),
        "since": since.isoformat(),
        "expires": (datetime.now(UTC) + timedelta(seconds=lease_seconds)).isoformat(),
    }
    data = (json.dumps(holder) + "\n").encode()
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))  # after the write: a reader never sees an empty record


def _holder(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return f"{data['owner']} (pid {data['pid']}, since {data['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
