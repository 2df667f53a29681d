"""What every part of the ledger shares: the database engine, the clock, one transaction per write."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bmad.core.errors import Unreachable
from bmad.core.models import utcnow
from bmad.core.redact import redact

Clock = Callable[[], datetime]


class Database:
    """The engine and the clock; :meth:`tx` opens one transaction."""

    def __init__(self, engine: Engine, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def now(self) -> datetime:
        return self.clock()

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except OperationalError as exc:
            raise Unreachable("ledger", "writing to the database", redact(str(exc.orig))) from None
