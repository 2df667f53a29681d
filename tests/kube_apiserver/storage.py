"""Object storage with one resourceVersion counter and a bounded watch history.

Follows "API Concepts" (https://kubernetes.io/docs/reference/using-api/api-concepts/):
every write gets a new, increasing ``metadata.resourceVersion``; a list carries the store's
version in ``metadata.resourceVersion``; a watch from version X sees every change after X, and a
version older than the history kept ("compacted", as etcd compacts) is answered 410 Gone.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Key:
    """Where an object lives: its group, plural, namespace ("" at cluster scope) and name."""

    group: str
    plural: str
    namespace: str
    name: str


@dataclass(frozen=True)
class Event:
    """One change: ADDED / MODIFIED / DELETED, the object as it was then, and its version."""

    rv: int
    type: str
    key: Key
    obj: Obj


class Store:
    """Thread-safe objects by key; each write bumps the version and appends to the history."""

    def __init__(self, history: int = 2000) -> None:
        self.cond = threading.Condition(threading.RLock())
        self.rv = 1
        self.compacted_rv = 0
        self.objects: dict[Key, Obj] = {}
        self.by_resource: dict[tuple[str, str], dict[Key, Obj]] = {}
        self.history: deque[Event] = deque(maxlen=history)

    def _record(self, kind: str, key: Key, obj: Obj) -> Obj:
        self.rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        if len(self.history) == self.history.maxlen:
            self.compacted_rv = self.history[0].rv
        self.history.append(Event(self.rv, kind, key, copy.deepcopy(obj)))
        self.cond.notify_all()
        return copy.deepcopy(obj)

    def get(self, key: Key) -> Obj | None:
        with self.cond:
            found = self.objects.get(key)
            return copy.deepcopy(found) if found is not None else None

    def put(self, key: Key, obj: Obj) -> Obj:
        """Store ``obj`` (added or modified) and return it with its new resourceVersion."""
        with self.cond:
            kind = "MODIFIED" if key in self.objects else "ADDED"
            stored = copy.deepcopy(obj)
            self.objects[key] = stored
            self.by_resource.setdefault((key.group, key.plural), {})[key] = stored
            return self._record(kind, key, stored)

    def delete(self, key: Key) -> Obj | None:
        with self.cond:
            gone = self.objects.pop(key, None)
            if gone is None:
                return None
            self.by_resource.get((key.group, key.plural), {}).pop(key, None)
            return self._record("DELETED", key, gone)

    def update(self, key: Key, change: Callable[[Obj], bool]) -> Obj | None:
        """Apply ``change`` to the stored object under the lock; store it when it says it changed."""
        with self.cond:
            current = self.objects.get(key)
            if current is None:
                return None
            candidate = copy.deepcopy(current)
            if not change(candidate):
                return copy.deepcopy(current)
            self.objects[key] = candidate
            self.by_resource.setdefault((key.group, key.plural), {})[key] = candidate
            return self._record("MODIFIED", key, candidate)

    def list_objects(self, group: str, plural: str, namespace: str = "") -> tuple[list[Obj], int]:
        """Objects of one resource (in one namespace, or all when ``namespace`` is ""), and the version."""
        items, rv = self.peek(group, plural, namespace)
        return [copy.deepcopy(o) for o in items], rv

    def peek(self, group: str, plural: str, namespace: str = "") -> tuple[list[Obj], int]:
        """As ``list`` but the stored objects themselves: callers must not change them."""
        with self.cond:
            found = self.by_resource.get((group, plural), {})
            keys = sorted(
                (k for k in found if not namespace or k.namespace == namespace), key=lambda k: (k.namespace, k.name)
            )
            return [found[k] for k in keys], self.rv

    def events_after(self, rv: int) -> list[Event] | None:
        """Events newer than ``rv``; None when ``rv`` is older than the kept history (410 Gone)."""
        with self.cond:
            if rv < self.compacted_rv:
                return None
            return [e for e in self.history if e.rv > rv]

    def compact(self) -> int:
        """Forget the history (as etcd compaction does): older versions now answer 410 Gone."""
        with self.cond:
            self.compacted_rv = self.rv
            self.history.clear()
            return self.rv

    def wait(self, rv: int, timeout: float) -> None:
        """Block until a version newer than ``rv`` exists or ``timeout`` passes."""
        with self.cond:
            self.cond.wait_for(lambda: self.rv > rv, timeout=timeout)
