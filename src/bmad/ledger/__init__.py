"""The deployment ledger (SQLAlchemy 2 + Alembic; SQLite by default, PostgreSQL by URL) and
the evidence folders of each phase run. See docs/ledger.md.

Importing this package is cheap; SQLAlchemy loads with :mod:`bmad.ledger.store` (the ``Ledger``
facade over ``runs`` (writes), ``chain`` (hash chain, verify), ``locks`` and ``history`` (reads)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bmad.ledger.evidence import EvidenceFolder
    from bmad.ledger.history_port import LedgerHistory
    from bmad.ledger.lease import LedgerLock, new_owner
    from bmad.ledger.records import (
        LedgerError,
        LockInfo,
        PhaseRunRecord,
        ReleaseHistory,
        RollbackInput,
        RollbackRecord,
        VerifyReport,
    )
    from bmad.ledger.store import Ledger

__all__ = [
    "EvidenceFolder",
    "Ledger",
    "LedgerError",
    "LedgerHistory",
    "LedgerLock",
    "LockInfo",
    "PhaseRunRecord",
    "ReleaseHistory",
    "RollbackInput",
    "RollbackRecord",
    "VerifyReport",
    "new_owner",
]

_WHERE = {
    "EvidenceFolder": "bmad.ledger.evidence",
    "Ledger": "bmad.ledger.store",
    "LedgerHistory": "bmad.ledger.history_port",
    "LedgerLock": "bmad.ledger.lease",
    "new_owner": "bmad.ledger.lease",
}


def __getattr__(name: str) -> Any:
    import importlib

    module = _WHERE.get(name, "bmad.ledger.records" if name in __all__ else None)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(module), name)
