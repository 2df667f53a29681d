"""The ``locks`` table of a SQLite ledger through ``sqlite3`` (the rows :mod:`bmad.ledger.locks` writes)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from bmad.ledger.lease import lease_stale, owner_host, owner_pid
from bmad.ledger.procs import this_host
from bmad.ledger.reader import required_when, stored
from bmad.ledger.records import LockInfo
from bmad.ledger.sqlite_writer import write_transaction


class SqliteLocks:
    """One lock per (service, environment); a stale lock is taken over with a conditional UPDATE."""

    def __init__(self, path: Path, clock: Callable[[], datetime]) -> None:
        self._path = path
        self._clock = clock

    def try_lock(self, service: str, environment: str, owner: str, lease_seconds: float) -> LockInfo | None:
        """None when ``owner`` now holds the lock, else the current holder."""
        now = self._clock()
        wanted = LockInfo(
            service=service,
            environment=environment,
            owner=owner,
            pid=owner_pid(owner) or os.getpid(),
            host=owner_host(owner) or this_host(),
            acquired_at=now,
            lease_until=now + timedelta(seconds=lease_seconds),
            heartbeat_at=now,
        )
        try:
            with write_transaction(self._path) as db:
                db.execute(
                    "INSERT INTO locks (service, environment, owner, pid, host, acquired_at, lease_until,"
                    " heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (service, environment, *_values(wanted)),
                )
            return None
        except sqlite3.IntegrityError:
            pass
        return self._take_over(wanted, now)

    def _take_over(self, wanted: LockInfo, now: datetime) -> LockInfo | None:
        """Steal a stale lock (only one of many racing processes wins)."""
        key = (wanted.service, wanted.environment)
        with write_transaction(self._path) as db:
            row = db.execute(
                "SELECT owner, pid, host, acquired_at, lease_until, heartbeat_at FROM locks"
                " WHERE service = ? AND environment = ?",
                key,
            ).fetchone()
            if row is None:
                return wanted  # released meanwhile: retry next round
            if row[0] == wanted.owner:
                return None
            held = LockInfo(wanted.service, wanted.environment, row[0], row[1], row[2], *map(required_when, row[3:]))
            if not lease_stale(held.lease_until, held.host, held.pid, now):
                return held
            stolen = db.execute(
                "UPDATE locks SET owner = ?, pid = ?, host = ?, acquired_at = ?, lease_until = ?, heartbeat_at = ?"
                " WHERE service = ? AND environment = ? AND owner = ? AND heartbeat_at = ?",
                (*_values(wanted), *key, row[0], row[5]),
            )
            return None if stolen.rowcount == 1 else held

    def renew(self, service: str, environment: str, owner: str, lease_seconds: float) -> bool:
        """Extend the lease; False when ``owner`` no longer holds the lock."""
        now = self._clock()
        with write_transaction(self._path) as db:
            renewed = db.execute(
                "UPDATE locks SET heartbeat_at = ?, lease_until = ?"
                " WHERE service = ? AND environment = ? AND owner = ?",
                (stored(now), stored(now + timedelta(seconds=lease_seconds)), service, environment, owner),
            )
            return renewed.rowcount == 1

    def release(self, service: str, environment: str, owner: str) -> None:
        with write_transaction(self._path) as db:
            db.execute(
                "DELETE FROM locks WHERE service = ? AND environment = ? AND owner = ?", (service, environment, owner)
            )


def _values(lock: LockInfo) -> tuple[str, int, str, str, str, str]:
    return (
        lock.owner,
        lock.pid,
        lock.host,
        stored(lock.acquired_at),
        stored(lock.lease_until),
        stored(lock.heartbeat_at),
    )
