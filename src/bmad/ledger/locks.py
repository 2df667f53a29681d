"""The ``locks`` table through SQLAlchemy: one lock per (service, environment), stale locks taken over once."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from bmad.ledger.lease import lease_stale, owner_host, owner_pid
from bmad.ledger.procs import this_host
from bmad.ledger.records import LockInfo
from bmad.ledger.row_records import lock_info
from bmad.ledger.schema import LockRow
from bmad.ledger.transactions import Database


def lock_stale(row: LockRow, now: datetime) -> bool:
    """The lease expired, or the owner's pid is gone on this host."""
    return lease_stale(row.lease_until, row.host, row.pid, now)


class Locks:
    """The ``locks`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

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
