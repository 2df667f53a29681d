"""Lock owners, leases and the held lock: what both lock tables (SQLAlchemy, sqlite3) share.

A lock of (service, environment) has one owner token (host, pid, a random part); its lease is
renewed by a heartbeat thread. :func:`acquire` waits for a lock through any :class:`LockTable`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bmad.core.errors import BmadError, LockHeld
from bmad.core.procs import pid_alive
from bmad.ledger.procs import this_host
from bmad.ledger.records import LockInfo


def new_owner() -> str:
    """A lock/run owner token: host, pid and a random part (one per bmad invocation).

    The random part is 8 hex digits of ``os.urandom``, as ``uuid4().hex[:8]`` was: ``uuid`` loads
    ``platform`` (~4 ms a command)."""
    return f"{this_host()}:{os.getpid()}:{os.urandom(4).hex()}"


def owner_pid(owner: str | None) -> int | None:
    if not owner:
        return None
    parts = owner.split(":")
    if len(parts) >= 3 and parts[-2].isdigit():
        return int(parts[-2])
    return None


def owner_host(owner: str | None) -> str | None:
    if not owner:
        return None
    parts = owner.split(":")
    return ":".join(parts[:-2]) if len(parts) >= 3 else None


def lease_stale(lease_until: datetime, host: str, pid: int, now: datetime) -> bool:
    """The lease expired, or the owner's pid is gone on this host."""
    if lease_until < now:
        return True
    return host == this_host() and not pid_alive(pid)


class LockTable(Protocol):
    """The ``locks`` table, as :func:`acquire` and :class:`LedgerLock` use it."""

    def try_lock(self, service: str, environment: str, owner: str, lease_seconds: float) -> LockInfo | None: ...

    def renew(self, service: str, environment: str, owner: str, lease_seconds: float) -> bool: ...

    def release(self, service: str, environment: str, owner: str) -> None: ...


def acquire(
    table: LockTable,
    service: str,
    environment: str,
    *,
    owner: str | None,
    lease_seconds: float,
    wait_seconds: float,
    poll_seconds: float,
    heartbeat: bool,
    on_wait: Callable[[LockInfo], None] | None,
) -> LedgerLock:
    """See :meth:`bmad.ledger.store.Ledger.acquire_lock`."""
    owner = owner or new_owner()
    deadline = time.monotonic() + wait_seconds if math.isfinite(wait_seconds) else math.inf
    told = False
    while True:
        holder = table.try_lock(service, environment, owner, lease_seconds)
        if holder is None:
            lock = LedgerLock(table, service, environment, owner, lease_seconds)
            if heartbeat:
                lock.start_heartbeat()
            return lock
        if time.monotonic() >= deadline:
            raise LockHeld(
                f"{service}/{environment} is locked by another bmad run "
                f"(pid {holder.pid} on {holder.host}, since {holder.acquired_at:%Y-%m-%d %H:%M:%S}Z)",
                hint="wait for it to finish, or pass --wait to queue behind it",
            )
        if on_wait is not None and not told:
            on_wait(holder)
            told = True
        time.sleep(min(poll_seconds, max(0.0, deadline - time.monotonic())))


class LedgerLock:
    """A held (service, environment) lock. A daemon thread renews the lease; ``lost`` is set when it
    could not (another process took over)."""

    def __init__(self, locks: LockTable, service: str, environment: str, owner: str, lease_seconds: float) -> None:
        self.locks = locks
        self.service = service
        self.environment = environment
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="bmad-lock-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        interval = max(0.05, self.lease_seconds / 3)
        while not self._stop.wait(interval):
            try:
                if not self.heartbeat():
                    self.lost.set()
                    return
            except BmadError:
                continue  # database briefly unavailable: try again before the lease runs out
            except Exception:  # never a traceback from a background thread
                logging.getLogger("bmad.ledger").exception("lock heartbeat failed")
                continue

    def heartbeat(self) -> bool:
        return self.locks.renew(self.service, self.environment, self.owner, self.lease_seconds)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.locks.release(self.service, self.environment, self.owner)

    def __enter__(self) -> LedgerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
