"""The request log: one entry per API request, as the API server's audit log writes at the
``Metadata`` level (verb, requestURI, user, response code; "Auditing",
https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/), plus the request's Content-Type so
tests can tell server-side apply (``application/apply-patch+yaml``) from other patches.
Served by the control API as ``GET /_standin/requests`` (``DELETE`` clears it)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    """One request as the audit log saw it."""

    method: str
    request_uri: str
    content_type: str
    user: str
    code: int


@dataclass
class AuditLog:
    """The entries since start (or since the last clear), oldest first."""

    entries: list[AuditEntry] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, entry: AuditEntry) -> None:
        with self.lock:
            self.entries.append(entry)

    def as_json(self) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(e) for e in self.entries]

    def clear(self) -> int:
        with self.lock:
            count = len(self.entries)
            self.entries.clear()
            return count
