"""One lock per (service, environment): leases renewed by a heartbeat, stale locks taken over once."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from bmad.core.errors import BmadError, LockHeld
from bmad.ledger.procs import pid_alive, this_host
from bmad.ledger.records import LockInfo
from bmad.ledger.row_records import lock_info
from bmad.ledger.schema import LockRow
from bmad.ledger.transactions import Database


def new_owner() -> str:
    """A lock/run owner token: host, pid and a random part (one per bmad invocation)."""
    return f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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


def lock_stale(row: LockRow, now: datetime) -> bool:
    """The lease expired, or the owner's pid is gone on this host."""
    if row.lease_until < now:
        return True
    return row.host == this_host() and not pid_alive(row.pid)


class Locks:
    """The ``locks`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(
        self,
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
            holder = self.try_lock(service, environment, owner, lease_seconds)
            if holder is None:
                lock = LedgerLock(self, service, environment, owner, lease_seconds)
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

    def try_lock(self, service: str, environment: str, owner: str, lease_seconds: float) -> LockInfo | None:
        """None when ``owner`` now holds the lock, else the current holder."""
        now = self._db.now()
        values: dict[str, Any] = {
            "owner": owner,
            "pid": owner_pid(owner) or os.getpid(),
            "host": owner_host(owner) or this_host(),
            "acquired_at": now,
            "lease_until": now + timedelta(seconds=lease_seconds),
            "heartbeat_at": now,
        }
        try:
            with self._db.tx() as session:
                session.add(LockRow(service=service, environment=environment, **values))
            return None
        except IntegrityError:
            pass
        return self._take_over(service, environment, owner, values, now)

    def _take_over(
        self, service: str, environment: str, owner: str, values: dict[str, Any], now: datetime
    ) -> LockInfo | None:
        """Steal a stale lock with a conditional UPDATE (only one of many racing processes wins)."""
        with self._db.tx() as session:
            row = session.get(LockRow, (service, environment))
            if row is None:
                return lock_info(LockRow(service=service, environment=environment, **values))  # retry next round
            if row.owner == owner:
                return None
            if not lock_stale(row, now):
                return lock_info(row)
            stolen = session.execute(
                update(LockRow)
                .where(
                    LockRow.service == service,
                    LockRow.environment == environment,
                    LockRow.owner == row.owner,
                    LockRow.heartbeat_at == row.heartbeat_at,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if getattr(stolen, "rowcount", 0) == 1:
                return None
            return lock_info(row)

    def info(self, service: str, environment: str) -> LockInfo | None:
        with self._db.tx() as session:
            row = session.get(LockRow, (service, environment))
            return lock_info(row) if row is not None else None

    def renew(self, service: str, environment: str, owner: str, lease_seconds: float) -> bool:
        """Extend the lease; False when ``owner`` no longer holds the lock."""
        now = self._db.now()
        with self._db.tx() as session:
            result = session.execute(
                update(LockRow)
                .where(LockRow.service == service, LockRow.environment == environment, LockRow.owner == owner)
                .values(heartbeat_at=now, lease_until=now + timedelta(seconds=lease_seconds))
                .execution_options(synchronize_session=False)
            )
            return getattr(result, "rowcount", 0) == 1

    def release(self, service: str, environment: str, owner: str) -> None:
        with self._db.tx() as session:
            session.execute(
                delete(LockRow)
                .where(LockRow.service == service, LockRow.environment == environment, LockRow.owner == owner)
                .execution_options(synchronize_session=False)
            )


class LedgerLock:
    """A held (service, environment) lock. A daemon thread renews the lease; ``lost`` is set when it
    could not (another process took over)."""

    def __init__(self, locks: Locks, service: str, environment: str, owner: str, lease_seconds: float) -> None:
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
